/**
 * Messages between the kernel workers of several tabs (one BroadcastChannel per origin).
 * Only the leader (the tab whose worker holds the Web Lock) owns the database; followers send it
 * RPCs and receive every committed event as a broadcast.
 */
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import type { KingdomApi } from '../api.ts';

export const CHANNEL = 'kingdom:kernel-bus';
export const LEADER_LOCK = 'kingdom:db-owner';

/**
 * Election names for a tab. A tab that asked for in-memory storage runs its own private election,
 * so it never becomes the writer for tabs that expect their data to be kept on the device.
 */
export function electionNames(memory: boolean, tabId: string): { channel: string; lock: string } {
  return memory ? { channel: `${CHANNEL}:memory:${tabId}`, lock: `${LEADER_LOCK}:memory:${tabId}` } : { channel: CHANNEL, lock: LEADER_LOCK };
}

/** KingdomApi methods a follower forwards to the leader, and `page` (events for its subscriptions). */
export type RpcMethod = keyof Pick<KingdomApi, 'command' | 'commandBatch' | 'query' | 'verify' | 'rebuild' | 'status' | 'ingest' | 'exportChain' | 'quarantined' | 'exportLog' | 'exportWorkspace' | 'importWorkspace' | 'repair' | 'sync' | 'testProvider'> | 'page';

export type BusMessage =
  | { readonly kind: 'hello'; readonly from: string }
  | {
      readonly kind: 'leader';
      readonly tabId: string;
      readonly headSeq: number;
      /** Where the leader keeps the data, so followers can tell their user the truth. */
      readonly storage: 'opfs' | 'memory';
      readonly fallbackReason: string | null;
    }
  | { readonly kind: 'rpc'; readonly id: string; readonly from: string; readonly method: RpcMethod; readonly args: unknown[] }
  | { readonly kind: 'rpc-result'; readonly id: string; readonly to: string; readonly result: unknown }
  | { readonly kind: 'events'; readonly events: EventEnvelope[]; readonly headSeq: number }
  /** A repair cut the log back to headSeq: every tab moves its subscription cursors back. */
  | { readonly kind: 'rewind'; readonly headSeq: number };

/** The answer to a `page` RPC: the leader's event store, paged for a follower's subscriptions. */
export type { Page } from '../kernel/subscriptions.ts';

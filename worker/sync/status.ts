/**
 * What the sync client tells a person: one status (off / connecting / syncing / up to date /
 * offline / problem) with a sentence, and the problems that stand, each with a stable code.
 *
 * Invariants:
 * 1. Statuses and problems are plain data (structured-clone safe): they cross the worker boundary
 *    as they are.
 * 2. One state at a time, by precedence: off, problem, offline, connecting, syncing, up to date.
 *    A standing problem wins over everything but off: a person must see it; `toGo` and
 *    `transport` still say how the rest is going.
 * 3. Every problem code is in PROBLEM_CODES with what it means; `sentence` never shows an id in
 *    full where a person reads it (device ids are shortened), `details` keeps them whole.
 */
import type { Json } from '../kernel/errors.ts';
import type { TransportState } from './transport.ts';

export const PROBLEM_CODES = {
  chunk_refused: 'a chunk in the shared document did not open (changed, moved, sealed with another key, or malformed); nothing of it was applied',
  chain_refused: 'the kernel refused a device\'s chain (docs/devices.md, Ingest); nothing more of that device is applied',
  ingest_failed: 'the kernel could not take in events (read-only in recovery mode, closed, or a bug)',
  publish_failed: 'this device\'s events could not be sealed or written into the shared document',
  relay_refused: 'the relay refused this device\'s token',
  database_read_only: 'this database failed its integrity check (recovery mode): it publishes nothing and takes nothing in until repaired',
  device_removed: 'another device removed this one from the workspace: it takes in nothing more (pair it again to rejoin)',
  own_chain_behind_relay: 'the shared document holds events of this device that its database does not have (restored from an older copy?)',
} as const;
export type ProblemCode = keyof typeof PROBLEM_CODES;

export interface SyncProblem {
  readonly code: ProblemCode;
  /** One sentence for a person: what happened, what it means, what (if anything) to do. */
  readonly message: string;
  readonly details: { readonly [key: string]: Json };
}

export type SyncState = 'off' | 'connecting' | 'syncing' | 'up_to_date' | 'offline' | 'problem';

export interface SyncStatus {
  readonly state: SyncState;
  /**
   * Events still to go: other devices' events named by chunks in the document and not yet handed
   * to the kernel, plus this device's events not yet written into the document.
   */
  readonly toGo: number;
  /** The connection's own state (`off` when the client is stopped). */
  readonly transport: TransportState['kind'] | 'off';
  /** The newest standing problem (state `problem`), else null. */
  readonly problem: SyncProblem | null;
  /** How many problems stand (see `SyncClient.problems()`). */
  readonly problems: number;
  /** The status in one sentence. */
  readonly sentence: string;
}

export interface StatusInputs {
  readonly running: boolean;
  readonly transport: TransportState;
  readonly toGo: number;
  readonly busy: boolean;
  readonly problems: readonly SyncProblem[];
}

/** The one status these inputs mean (invariant 2). */
export function statusOf(i: StatusInputs): SyncStatus {
  const transport: SyncStatus['transport'] = i.running ? i.transport.kind : 'off';
  const base = { toGo: i.toGo, transport, problems: i.problems.length };
  if (!i.running) return { ...base, state: 'off', problem: null, sentence: 'Sync is off.' };
  const problem = i.problems[i.problems.length - 1];
  if (problem) {
    const more = i.problems.length > 1 ? ` (and ${i.problems.length - 1} more problem${i.problems.length > 2 ? 's' : ''})` : '';
    return { ...base, state: 'problem', problem, sentence: `${problem.message}${more}` };
  }
  const toGo = i.toGo > 0 ? ` ${count(i.toGo)} to go.` : '';
  if (i.transport.kind === 'offline') return { ...base, state: 'offline', problem: null, sentence: `Offline: ${i.transport.reason} Changes are kept and sync when the relay is back.${toGo}` };
  if (i.transport.kind === 'connecting') return { ...base, state: 'connecting', problem: null, sentence: `Connecting to the relay…${toGo}` };
  if (i.transport.kind === 'refused') return { ...base, state: 'problem', problem: null, sentence: i.transport.message };
  if (i.toGo > 0 || i.busy) return { ...base, state: 'syncing', problem: null, sentence: i.toGo > 0 ? `Syncing: ${count(i.toGo)} to go.` : 'Syncing…' };
  return { ...base, state: 'up_to_date', problem: null, sentence: 'Up to date.' };
}

/** A device id as a person reads it: its last 6 characters. */
export function shortDevice(device: string): string {
  return device.length > 10 ? `…${device.slice(-6)}` : device;
}

function count(n: number): string {
  return `${n.toLocaleString('en-US')} event${n === 1 ? '' : 's'}`;
}

/** The engine's in-memory records and the commands it writes: one `session.record` per session per flush, and cancels of child sessions. */
import type { CommandInput } from '../kernel/commands/envelope.ts';
import type { Json } from '../kernel/errors.ts';
import { ask, type QueryPort } from './ask.ts';
import type { Workflow } from '../workflow/index.ts';
import type { Outcome } from './planner/plan.ts';
import type { SessionState } from '../domains/sessions/fold.ts';


export function recordCommand(sessionId: string, version: number, events: Json[], blobs: { hash: string; mediaType: string; data: string }[] = []): CommandInput {
  return {
    type: 'session.record',
    payload: { sessionId, events, ...(blobs.length > 0 ? { blobs } : {}) },
    expectedVersion: version,
    idempotencyKey: `engine:${sessionId}:${version}`,
    actor: 'engine',
  };
}

/** Cancel these child sessions (those still active); `version` is the parent's, for the idempotency key. */
export function cancelCommands(k: QueryPort, ids: readonly string[], reason: string, version: number): CommandInput[] {
  return ids.filter((id) => ['running', 'paused'].includes(ask(k, 'session.outcome', { sessionId: id })?.status ?? ''))
    .map((id) => ({ type: 'session.cancel', payload: { sessionId: id, reason }, idempotencyKey: `cancel-child:${id}:${version}`, actor: 'engine' }));
}

export interface Execution {
  readonly attempt: number;
  readonly controller: AbortController;
}

export interface Live {
  state: SessionState;
  def: Workflow | undefined;
  defError: string | undefined;
  readonly executions: Map<string, Execution>;
  readonly outcomes: Map<string, Outcome>;
  timer: unknown;
  wake: number | undefined;
  /** The `now` the last plan used: whatever was due by then, it handled. */
  plannedAt: number;
}

export interface EngineStats {
  readonly active: number;
  readonly executions: number;
  readonly flushes: number;
  readonly commits: number;
}

export const toJson = (value: unknown): Json => (value === undefined ? null : JSON.parse(JSON.stringify(value)) as Json);

/**
 * Durable notes of running attempts: an agent step records each model turn and each tool
 * observation in the session's stream while its runner still runs, so a crash or restart resumes
 * the loop from the last recorded note instead of calling the model or a tool again.
 *
 * The engine stays the only writer of session streams: a runner's `journal.append(entry)` queues
 * the note here, the engine's next flush applies it to the session's state and writes it in the
 * same `session.record` command as the plan's events (group commit), then `settle` resolves the
 * runner's promise.
 *
 * Invariants:
 * 1. A note is validated against its event schema when appended: a bad note rejects at once
 *    (`runner_error`) and never reaches a command, so it cannot fail a batch again and again.
 * 2. A note is written only while its attempt still runs with the same execution; otherwise it is
 *    dropped and the runner's promise rejects `aborted`.
 * 3. Secret values are redacted from notes before they are written, as from inputs and outputs.
 * 4. `append` resolves only after the note's transaction committed, with the note as recorded
 *    (redacted), so what the runner passes on is exactly what the log holds.
 */
import type { Json } from '../kernel/errors.ts';
import { RunnerError, type JournalEntry } from './runners/types.ts';
import { SESSION_EVENTS } from '../domains/sessions/events.ts';
import { applyEvent, type SessionState } from '../domains/sessions/fold.ts';
import { redactSecrets } from './redact.ts';

interface Pending {
  readonly sessionId: string;
  readonly key: string;
  readonly attempt: number;
  readonly owner: object;
  readonly type: JournalEntry['type'];
  readonly payload: { [key: string]: Json };
  recorded?: { [key: string]: Json };
  readonly resolve: (entry: JournalEntry) => void;
  readonly reject: (err: unknown) => void;
}

const SCHEMAS = new Map(SESSION_EVENTS.filter((d) => d.type === 'agent.turn' || d.type === 'agent.observation').map((d) => [d.type, d.schema]));

export class JournalQueue {
  private readonly pending = new Map<string, Pending[]>();
  private written: Pending[] = [];

  /** Queue a note of the attempt `attempt` of step `key`, run by `owner` (the engine's execution). */
  add(sessionId: string, key: string, attempt: number, owner: object, entry: JournalEntry): Promise<JournalEntry> {
    const payload: { [key: string]: Json } = { ...entry.payload, step: key, attempt };
    const schema = SCHEMAS.get(entry.type);
    const checked = schema?.safeParse(payload);
    if (!checked?.success) {
      const why = checked?.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '$'}: ${i.message}`).join('; ') ?? `unknown note type ${String(entry.type)}`;
      return Promise.reject(new RunnerError('runner_error', `The runner recorded an invalid ${String(entry.type)} note: ${why}`, false));
    }
    return new Promise<JournalEntry>((resolve, reject) => {
      const list = this.pending.get(sessionId) ?? [];
      list.push({ sessionId, key, attempt, owner, type: entry.type, payload, resolve, reject });
      this.pending.set(sessionId, list);
    });
  }

  /**
   * Apply the session's queued notes to its state (those whose execution still runs) and return
   * them as events to write; the others are rejected.
   */
  take(state: SessionState, now: number, secrets: ReadonlyMap<string, string>, current: (key: string, owner: object) => boolean): Json[] {
    const list = this.pending.get(state.id);
    if (!list) return [];
    this.pending.delete(state.id);
    const events: Json[] = [];
    for (const n of list) {
      const st = state.steps.get(n.key);
      if (!st || st.status !== 'running' || st.attempt !== n.attempt || !current(n.key, n.owner)) {
        n.reject(aborted());
        continue;
      }
      const payload = redactSecrets(n.payload, secrets) as { [key: string]: Json };
      applyEvent(state, { type: n.type, payload, at: now, streamSeq: state.version + 1, seq: state.lastSeq });
      events.push({ type: n.type, payload });
      n.recorded = payload;
      this.written.push(n);
    }
    return events;
  }

  /** After a flush's write: resolve the notes whose execution is still current (their write committed), reject the rest. */
  settle(current: (sessionId: string, key: string, owner: object) => boolean): void {
    const done = this.written;
    this.written = [];
    for (const n of done) {
      if (current(n.sessionId, n.key, n.owner)) n.resolve({ type: n.type, payload: n.recorded ?? n.payload });
      else n.reject(aborted());
    }
  }

  /** Reject every queued note of a session (it is no longer driven). */
  drop(sessionId: string): void {
    const list = this.pending.get(sessionId);
    this.pending.delete(sessionId);
    for (const n of list ?? []) n.reject(aborted());
  }

  dropAll(): void {
    for (const id of [...this.pending.keys()]) this.drop(id);
    this.settle(() => false);
  }
}

const aborted = (): RunnerError => new RunnerError('aborted', 'the attempt no longer runs', false);

/**
 * Requests other devices send to sessions this device owns (`session.requested`: a person's
 * cancel, approval, pause, resume, retry or reject made elsewhere). The owner's engine applies
 * each once, as the person who asked.
 *
 * Invariants:
 * 1. Only requests from other devices for sessions one of this database's device ids owns.
 * 2. Idempotency key `request:<event id>`: seen again (restart, a relay repeating itself), a
 *    request returns its first result; one that no longer applies (the session ended meanwhile)
 *    changes nothing.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { ask } from './ask.ts';
import { sessionRequestStream } from '../domains/sessions/events.ts';

/**
 * At engine start: the requests stored for `sessions` (this device's active ones; a request for
 * an ended session changes nothing), read per session from its request stream.
 */
export function applyStoredRequests(kernel: Kernel, sessions: readonly string[]): void {
  for (const id of sessions) applyRequests(kernel, kernel.readEvents(0, 10_000, { stream: sessionRequestStream(id) }));
}

export function applyRequests(kernel: Kernel, events: readonly EventEnvelope[]): void {
  const mine = new Set(kernel.ownDevices());
  for (const e of events) {
    if (e.type !== 'session.requested' || mine.has(e.device)) continue;
    const p = e.payload as { sessionId: string; command: string; payload: Record<string, unknown>; actor: string };
    const owner = ask(kernel, 'session.owner', { sessionId: p.sessionId });
    if (owner === null || !mine.has(owner)) continue;
    try {
      kernel.command({ type: p.command, payload: p.payload, idempotencyKey: `request:${e.id}`, actor: p.actor });
    } catch {
      // invalid_state and the like: the session moved on before the request arrived.
    }
  }
}

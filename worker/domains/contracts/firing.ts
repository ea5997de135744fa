/**
 * A firing's keys (docs/contracts.md, "One run per instant"): the firing key names (contract,
 * instant) the same way on every device; the session a firing starts has an id derived from the
 * firing key and the device that fired it.
 *
 * Why the device is in the session id: two devices that were both offline can both catch up the
 * same instant before either has seen the other's firing. Had both started `session:<same id>`,
 * the merged log would hold two `session.started` events of one stream, written by two engines —
 * the sessions slice has no rule for that (its projection keys sessions by id, and a session has
 * exactly one writer, its owner). With the device in the id the two runs stay two well-formed
 * sessions; the contracts projection keeps the first firing of a key in merge order as THE run
 * of that instant and records the other as a duplicate, which its own device cancels if it still
 * runs (worker/services/contract-scheduler.ts). On one device the firing key is the idempotency key, and
 * once a device has seen a firing of a key (from any device) it never fires that key again.
 *
 * Invariants:
 * 1. Pure: the same (key, device) gives the same UUID (version 8, like a workspace copy's ids).
 * 2. Keys: cron and button `contract/<id>/<ISO instant>` (schedule.ts firingKey); event
 *    `contract/<id>/event/<event id>`.
 */
import { sha256Hex } from '../../kernel/log/hash.ts';

/** As schedule.ts's firingKey (a test keeps them equal), without loading croner with the kernel. */
export function firingKey(contractId: string, instant: number): string {
  return `contract/${contractId}/${new Date(instant).toISOString()}`;
}

/** A press of the button: each press its own key (two presses in one millisecond are two firings). */
export function buttonFiringKey(contractId: string, pressId: string): string {
  return `contract/${contractId}/button/${pressId}`;
}

export function eventFiringKey(contractId: string, eventId: string): string {
  return `contract/${contractId}/event/${eventId}`;
}

/** The id of the session a device's firing of `key` starts: a UUID (version 8) from (key, device). */
export function firingSessionId(key: string, device: string): string {
  const h = sha256Hex(`kingdom.contract-firing/1\n${key}\n${device}`);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * The event envelope: every accepted state change is one of these, appended to `events`.
 *
 * Invariants:
 * 1. `hash = sha256("kingdom.event/1\n" + canonicalJson(envelope without hash))`; every other
 *    field, `prev` and `seq` included, is covered.
 * 2. `prev` is the `hash` of the event with `seq - 1` (GENESIS for seq 1): one chain per database.
 * 3. The stored `v` and `payload` are never rewritten; upcasters lift old versions on read only,
 *    so the hash always verifies against the stored form.
 */
import { canonicalJson } from './canonical.ts';
import { sha256Hex } from './hash.ts';
import type { Json } from '../errors.ts';

export interface EventEnvelope<P = Json> {
  /** UUIDv7, unique across devices. */
  readonly id: string;
  /** Global position in this database's log, 1-based, gapless. */
  readonly seq: number;
  /** Aggregate stream, e.g. `workspace:<id>`. */
  readonly stream: string;
  /** Position within the stream, 1-based, gapless. */
  readonly streamSeq: number;
  /** Past-tense event type, e.g. `workspace.created`. */
  readonly type: string;
  /** Schema version of `payload` as stored (after upcasting when read through the kernel). */
  readonly v: number;
  /** ISO-8601 UTC time from the command context. */
  readonly at: string;
  /** Who caused it (`user`, `system`, a session id). */
  readonly actor: string;
  /** Device id of the writer. */
  readonly device: string;
  readonly payload: P;
  readonly prev: string;
  readonly hash: string;
}

export type UnhashedEnvelope = Omit<EventEnvelope, 'hash'>;

export const EVENT_HASH_DOMAIN = 'kingdom.event/1\n';

export function hashEvent(e: UnhashedEnvelope): string {
  return hashEventWithPayloadJson(e, canonicalJson(e.payload));
}

/**
 * Hash with the payload already in canonical JSON (as stored in the `events.payload` column), so
 * append and verify encode each payload once and verify can hash bytes it could not even parse.
 */
export function hashEventWithPayloadJson(e: Omit<UnhashedEnvelope, 'payload'>, payloadJson: string): string {
  return sha256Hex(EVENT_HASH_DOMAIN + canonicalEventBody(e, payloadJson));
}

/**
 * Canonical encoding of the hashed fields, keys in sorted order. Equal to
 * `canonicalJson({...fields, payload})` (a unit test holds them together), written out by hand
 * because it runs once per appended event.
 */
export function canonicalEventBody(e: Omit<UnhashedEnvelope, 'payload'>, payloadJson: string): string {
  const s = JSON.stringify;
  return `{"actor":${s(e.actor)},"at":${s(e.at)},"device":${s(e.device)},"id":${s(e.id)},` +
    `"payload":${payloadJson},"prev":${s(e.prev)},"seq":${num(e.seq)},"stream":${s(e.stream)},` +
    `"streamSeq":${num(e.streamSeq)},"type":${s(e.type)},"v":${num(e.v)}}`;
}

export function sealEvent(e: UnhashedEnvelope): EventEnvelope {
  return { ...e, hash: hashEvent(e) };
}

function num(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`envelope integer field out of range: ${n}`);
  return String(n);
}

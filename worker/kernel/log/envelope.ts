/**
 * The event envelope: every accepted state change is one of these, appended to `events`.
 *
 * Format 2 (since schema 3): every device appends to ITS OWN hash chain, so an event keeps its
 * identity when it is copied to another device's database.
 *
 * Invariants:
 * 1. `hash = sha256("kingdom.event/2\n" + canonicalJson(identity fields))`, where the identity
 *    fields are the ones that are the same on every device: id, device, deviceSeq, hlc, prev,
 *    stream, streamBase, type, v, at, actor, payload. `seq` and `streamSeq` are this database's positions and
 *    are not hashed.
 * 2. `prev` is the hash of the same device's event at `deviceSeq - 1` (GENESIS for 1): one chain
 *    per device; `deviceSeq` is gapless from 1 and `hlc` strictly increases along a chain.
 * 3. The merge order of all devices' events is (hlc, device) (the hash would break ties, but
 *    there are none: see `mergeKey`): the same total order on every device that holds the same
 *    events.
 * 4. The stored `v` and `payload` are never rewritten; upcasters lift old versions on read only,
 *    so the hash always verifies against the stored form.
 */
import { canonicalJson } from './canonical.ts';
import { sha256Hex } from './hash.ts';
import type { Json } from '../errors.ts';

export interface EventEnvelope<P = Json> {
  /** UUIDv7, unique across devices. */
  readonly id: string;
  /** Position in this database's log in arrival order, 1-based, gapless (not hashed). */
  readonly seq: number;
  /** Aggregate stream, e.g. `workspace:<id>`. */
  readonly stream: string;
  /** Position within the stream in this database, 1-based, gapless (not hashed). */
  readonly streamSeq: number;
  /**
   * How many events of its stream its writer held when it wrote it (the version it decided
   * against). An event whose merge position in its stream is later than `streamBase + 1` was
   * written without seeing an earlier one: a concurrent write (kernel `conflicts`).
   */
  readonly streamBase: number;
  /** Past-tense event type, e.g. `workspace.created`. */
  readonly type: string;
  /** Schema version of `payload` as stored (after upcasting when read through the kernel). */
  readonly v: number;
  /** ISO-8601 UTC time from the command context. */
  readonly at: string;
  /** Who caused it (`user`, `system`, a session id). */
  readonly actor: string;
  /** Device id of the writer: the chain this event belongs to. */
  readonly device: string;
  /** Position in the writer's chain, 1-based, gapless. */
  readonly deviceSeq: number;
  /** Hybrid logical clock (16 lowercase hex: 12 of milliseconds, 4 of counter); orders merges. */
  readonly hlc: string;
  readonly payload: P;
  /** Hash of the writer's previous event (GENESIS for deviceSeq 1). */
  readonly prev: string;
  readonly hash: string;
}

/** An event as it travels between devices: the identity fields and the hash, no local positions. */
export type WireEvent<P = Json> = Omit<EventEnvelope<P>, 'seq' | 'streamSeq'>;

export type UnhashedEnvelope = Omit<EventEnvelope, 'hash'>;
type Identity = Omit<WireEvent, 'hash' | 'payload'>;

export const EVENT_HASH_DOMAIN = 'kingdom.event/2\n';

export function hashEvent(e: Omit<WireEvent, 'hash'>): string {
  return hashEventWithPayloadJson(e, canonicalJson(e.payload));
}

/**
 * Hash with the payload already in canonical JSON (as stored in the `events.payload` column), so
 * append and verify encode each payload once and verify can hash bytes it could not even parse.
 */
export function hashEventWithPayloadJson(e: Identity, payloadJson: string): string {
  return sha256Hex(EVENT_HASH_DOMAIN + canonicalEventBody(e, payloadJson));
}

/**
 * Canonical encoding of the hashed fields, keys in sorted order. Equal to
 * `canonicalJson({...fields, payload})` (a unit test holds them together), written out by hand
 * because it runs once per appended event.
 */
export function canonicalEventBody(e: Identity, payloadJson: string): string {
  const s = JSON.stringify;
  return `{"actor":${s(e.actor)},"at":${s(e.at)},"device":${s(e.device)},"deviceSeq":${num(e.deviceSeq)},` +
    `"hlc":${s(e.hlc)},"id":${s(e.id)},"payload":${payloadJson},"prev":${s(e.prev)},` +
    `"stream":${s(e.stream)},"streamBase":${num(e.streamBase)},"type":${s(e.type)},"v":${num(e.v)}}`;
}

export function sealEvent(e: UnhashedEnvelope): EventEnvelope {
  return { ...e, hash: hashEvent(e) };
}

/**
 * The merge-order key: events sort by it into the one order every device applies them in. It is
 * (hlc, device): a device's hlc strictly increases along its chain (append ticks, ingest and verify
 * refuse otherwise), so no two events share it and the hash never has to break a tie. The
 * database does not store it: `events_ord` indexes the same expression (ORD_SQL).
 */
export function mergeKey(hlc: string, device: string): string {
  return `${hlc}|${device}`;
}

/** `mergeKey` in SQL, over the events table's columns (the expression its index is built on). */
export const ORD_SQL = "(hlc || '|' || device)";

// ---- format 1 (schema ≤ 2): one chain per database, kept to verify upgraded logs --------------

export const LEGACY_EVENT_HASH_DOMAIN = 'kingdom.event/1\n';

export interface LegacyBody {
  readonly id: string; readonly seq: number; readonly stream: string; readonly streamSeq: number;
  readonly type: string; readonly v: number; readonly at: string; readonly actor: string;
  readonly device: string; readonly prev: string;
}

/** The format-1 hash: every field, the database's `seq`, `streamSeq` and global `prev` included. */
export function legacyHash(e: LegacyBody, payloadJson: string): string {
  const s = JSON.stringify;
  return sha256Hex(LEGACY_EVENT_HASH_DOMAIN +
    `{"actor":${s(e.actor)},"at":${s(e.at)},"device":${s(e.device)},"id":${s(e.id)},` +
    `"payload":${payloadJson},"prev":${s(e.prev)},"seq":${num(e.seq)},"stream":${s(e.stream)},` +
    `"streamSeq":${num(e.streamSeq)},"type":${s(e.type)},"v":${num(e.v)}}`);
}

function num(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`envelope integer field out of range: ${n}`);
  return String(n);
}

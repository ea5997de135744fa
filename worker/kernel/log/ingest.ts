/**
 * Ingest: take in events other devices wrote (as they arrive from a relay), verify each device's
 * chain and its signed checkpoints, and decide what may be applied.
 *
 * Invariants:
 * 1. An event is applied only when it extends its device's chain here: the next deviceSeq, prev =
 *    the chain's head hash, its hash recomputed from its fields, its hlc after its predecessor's.
 *    One that arrives ahead of a missing predecessor is parked (verified on its own, applied when
 *    the gap fills); a repeat of an event already here is a duplicate and changes nothing.
 * 2. A removed device's events are refused from the first one after its removal in merge order
 *    (`device_revoked`), in chain order: one ahead of a gap waits, and the events before the
 *    removal, in the same batch or parked, are accepted. A removal that stops counting with the
 *    batch (its author was removed before it, by a removal the batch brings) refuses nothing.
 * 3. A chain that does not verify (a changed field, a broken link, a different event at a position
 *    already here, a clock that runs backwards or too far ahead, a checkpoint whose signature or
 *    head does not match, events claiming to be this device) is refused: the offending event is
 *    quarantined with the reason, nothing more of that device is applied, now or later.
 * 4. Planning reads and decides only; the kernel applies the plan in one transaction.
 */
import type { Sql } from '../db/sql.ts';
import type { Json } from '../errors.ts';
import { canonicalJson } from './canonical.ts';
import { hashEventWithPayloadJson, mergeKey, type WireEvent } from './envelope.ts';
import { hlcMillis } from './hlc.ts';
import type { ChainHead, EventStore } from './event-store.ts';
import { checkpointMessage } from './checkpoint.ts';
import { verifySignature } from './keys.ts';
import { KEY_REGISTERED } from './verify.ts';
import type { WireCheckpoint } from './wire.ts';

export { ingestSchema, parseIngest, wireCheckpointSchema, wireEventSchema, type IngestInput, type WireCheckpoint } from './wire.ts';

/** How far ahead of this device's clock another device's clock may be. */
export const MAX_CLOCK_AHEAD_MS = 24 * 3600_000;

export interface Refusal {
  /** The typed error of a refused chain (docs/errors.md). */
  readonly code: 'chain_refused';
  readonly device: string;
  readonly deviceSeq: number;
  readonly reason: string;
  readonly message: string;
}

export interface IngestPlan {
  /** Verified events to insert, each device's in chain order. */
  readonly accept: WireEvent[];
  readonly checkpoints: WireCheckpoint[];
  readonly park: WireEvent[];
  /** Parked events the plan takes out of the parking table (they are in `accept`). */
  readonly unpark: { device: string; deviceSeq: number }[];
  readonly duplicates: number;
  readonly refused: (Refusal & { event: Json })[];
  /** The canonical JSON of each accepted event's payload, as its hash check encoded it (insert stores it). */
  readonly payloadJson: Map<WireEvent, string>;
}

/**
 * `removedFrom(device)`: the merge key from which a removed device's events are not accepted (the
 * projection registry's cached removals), undefined for a device that was not removed.
 */
export async function planIngest(
  sql: Sql, store: EventStore, self: string, nowMs: number,
  events: readonly WireEvent[], checkpoints: readonly WireCheckpoint[],
  removedFrom: (device: string) => string | undefined,
): Promise<IngestPlan> {
  let plan = await planOnce(sql, store, self, nowMs, events, checkpoints, removedFrom);
  // A removal known here may not count once this batch is in: its author was removed before it
  // by a removal the batch brings (two devices removed each other). Plan again with the removals
  // the batch leaves standing (a few rounds: each can only lift refusals).
  for (let round = 0; round < 3; round++) {
    if (!plan.refused.some((r) => r.reason === 'device_revoked') || !plan.accept.some((e) => e.type === REVOKED)) break;
    const standing = removals(sql, plan.accept);
    const next = await planOnce(sql, store, self, nowMs, events, checkpoints, (d) => (removedFrom(d) === undefined ? undefined : standing.get(d)));
    if (next.refused.length === plan.refused.length) break;
    plan = next;
  }
  return plan;
}

const REVOKED = 'device.revoked';

/**
 * The removals that count among those stored and `more`: in merge order, the earliest removal of
 * a device by a device not removed before it (worker/kernel/devices.ts, invariant 2). Device to
 * the merge key from which its events no longer count.
 */
function removals(sql: Sql, more: readonly WireEvent[]): Map<string, string> {
  const target = (payload: unknown) => String((payload as { device?: unknown }).device);
  const all = [
    ...sql.all('SELECT device, hlc, payload FROM events WHERE type = ?', [REVOKED])
      .map((r) => ({ by: String(r['device']), ord: mergeKey(String(r['hlc']), String(r['device'])), target: target(JSON.parse(String(r['payload']))) })),
    ...more.filter((e) => e.type === REVOKED).map((e) => ({ by: e.device, ord: mergeKey(e.hlc, e.device), target: target(e.payload) })),
  ].sort((x, y) => (x.ord < y.ord ? -1 : 1));
  const out = new Map<string, string>();
  for (const r of all) {
    const authorFrom = out.get(r.by);
    if ((authorFrom === undefined || r.ord < authorFrom) && !out.has(r.target)) out.set(r.target, r.ord);
  }
  return out;
}

async function planOnce(
  sql: Sql, store: EventStore, self: string, nowMs: number,
  events: readonly WireEvent[], checkpoints: readonly WireCheckpoint[],
  removedFrom: (device: string) => string | undefined,
): Promise<IngestPlan> {
  const plan: { -readonly [K in keyof IngestPlan]: IngestPlan[K] } =
    { accept: [], checkpoints: [], park: [], unpark: [], duplicates: 0, refused: [], payloadJson: new Map() };
  const byDevice = new Map<string, WireEvent[]>();
  for (const e of events) (byDevice.get(e.device) ?? byDevice.set(e.device, []).get(e.device)!).push(e);
  for (const c of checkpoints) if (!byDevice.has(c.device)) byDevice.set(c.device, []);

  for (const device of [...byDevice.keys()].sort()) {
    const offered = byDevice.get(device)!;
    const refuse = (e: WireEvent | WireCheckpoint, deviceSeq: number, reason: string, message: string) => {
      plan.refused.push({ code: 'chain_refused', device, deviceSeq, reason, message, event: e as unknown as Json });
    };
    if (device !== self && sql.value('SELECT 1 FROM quarantine WHERE device = ? LIMIT 1', [device]) !== undefined) {
      const first = offered[0];
      if (first) refuse(first, first.deviceSeq, 'quarantined', `Device ${device}'s chain was refused earlier; nothing more of it is applied.`);
      continue;
    }
    // Parked events of this device join the offer (they verified on their own when they came).
    const parked = sql.all('SELECT event FROM ingest_parked WHERE device = ? ORDER BY device_seq', [device])
      .map((r) => JSON.parse(String(r['event'])) as WireEvent);
    const all = [...offered, ...parked].sort((a, b) => a.deviceSeq - b.deviceSeq);
    const parkedSeqs = new Set(parked.map((e) => e.deviceSeq));

    let head: ChainHead = store.chainHead(device);
    const accepted: WireEvent[] = [];
    const acceptedIds = new Set<string>();
    const keys = new Map<string, string>();
    let refusedHere = false;
    const seenAt = new Map<number, string>();
    for (const e of all) {
      const own = seenAt.get(e.deviceSeq);
      if (own !== undefined) {
        if (own !== e.hash) {
          refuse(e, e.deviceSeq, 'fork', `Device ${device} offered two different events at position ${e.deviceSeq} of its chain.`);
          refusedHere = true;
          break;
        }
        plan.duplicates++;
        continue;
      }
      seenAt.set(e.deviceSeq, e.hash);
      if (e.deviceSeq <= head.deviceSeq) {
        // Already here (a relay sends again what it has): the same hash is a duplicate.
        if (sql.value('SELECT hash FROM events WHERE device = ? AND device_seq = ?', [device, e.deviceSeq]) === e.hash) {
          plan.duplicates++;
          continue;
        }
        refuse(e, e.deviceSeq, device === self ? 'own_device' : 'fork',
          device === self
            ? `An offered event claims position ${e.deviceSeq} of this device's own chain but differs from it: only this device writes its chain.`
            : `Device ${device}'s event at position ${e.deviceSeq} differs from the one already here: the chain was rewritten.`);
        refusedHere = true;
        break;
      }
      // A removed device's event after its removal is refused in chain order: one ahead of a gap
      // waits (parked), or refusing it would refuse the events before the removal in the gap too.
      // What it wrote before, in this batch, is accepted (it stays: docs/devices.md).
      const from = e.deviceSeq === head.deviceSeq + 1 ? removedFrom(device) : undefined;
      if (from !== undefined && mergeKey(e.hlc, device) > from) {
        refuse(e, e.deviceSeq, 'device_revoked', `Device ${device} was removed from this workspace; what it wrote after that is not accepted.`);
        break;
      }
      const problem = checkEvent(e, device, self, nowMs, plan.payloadJson);
      if (problem) {
        refuse(e, e.deviceSeq, problem.reason, problem.message);
        refusedHere = true;
        break;
      }
      if (e.deviceSeq > head.deviceSeq + 1) {
        if (!parkedSeqs.has(e.deviceSeq)) plan.park.push(e);
        continue;
      }
      if (e.prev !== head.hash) {
        refuse(e, e.deviceSeq, 'prev_mismatch', `Device ${device}'s event at position ${e.deviceSeq} does not link to the previous one (prev mismatch): events were reordered, removed or replaced.`);
        refusedHere = true;
        break;
      }
      if (e.hlc <= head.hlc) {
        refuse(e, e.deviceSeq, 'hlc_not_increasing', `Device ${device}'s clock runs backwards at position ${e.deviceSeq}.`);
        refusedHere = true;
        break;
      }
      if (sql.value('SELECT 1 FROM events WHERE id = ?', [e.id]) !== undefined || acceptedIds.has(e.id)) {
        refuse(e, e.deviceSeq, 'duplicate_id', `Device ${device}'s event at position ${e.deviceSeq} reuses the id of another event (${e.id}): a replay under a new position.`);
        refusedHere = true;
        break;
      }
      if (e.type === KEY_REGISTERED) {
        const p = e.payload as { device?: string; keyId?: string; publicKey?: string };
        if (p.device === device && p.keyId && p.publicKey) keys.set(p.keyId, p.publicKey);
      }
      accepted.push(e);
      acceptedIds.add(e.id);
      if (parkedSeqs.has(e.deviceSeq)) plan.unpark.push({ device, deviceSeq: e.deviceSeq });
      head = { deviceSeq: e.deviceSeq, hash: e.hash, hlc: e.hlc };
    }
    if (refusedHere) continue;

    // Signed checkpoints of this device: against its registered key and its chain.
    const deviceCheckpoints = checkpoints.filter((c) => c.device === device);
    let badCheckpoint = false;
    for (const c of deviceCheckpoints) {
      const target = accepted.find((a) => a.deviceSeq === c.deviceSeq)?.hash
        ?? (sql.value('SELECT hash FROM events WHERE device = ? AND device_seq = ?', [device, c.deviceSeq]) as string | undefined);
      if (target === undefined) continue; // its events have not arrived yet: it comes again with them
      const publicKey = keys.get(c.keyId) ?? registeredKey(sql, device, c.keyId);
      const why = target !== c.headHash
        ? `the checkpoint at position ${c.deviceSeq} signs a head hash that is not that event's hash`
        : !publicKey ? `the checkpoint at position ${c.deviceSeq} is signed by key ${c.keyId}, which the device never registered`
        : !(await verifySignature(publicKey, c.signature, checkpointMessage(c))) ? `the checkpoint at position ${c.deviceSeq} has a signature that does not verify`
        : null;
      if (why) {
        refuse(c, c.deviceSeq, 'checkpoint_invalid', `Device ${device}'s chain was refused: ${why}.`);
        badCheckpoint = true;
        break;
      }
      plan.checkpoints.push(c);
    }
    if (badCheckpoint) continue;
    plan.accept.push(...accepted);
  }
  return plan;
}

/** Why `e` cannot extend its chain on its own merits, or null; records its payload's canonical JSON in `encoded`. */
function checkEvent(e: WireEvent, device: string, self: string, nowMs: number, encoded: Map<WireEvent, string>): { reason: string; message: string } | null {
  if (device === self) {
    return { reason: 'own_device', message: `An offered event claims to be from this device (${self}) but is not in its chain here: only this device writes its chain.` };
  }
  let payloadJson: string;
  try {
    payloadJson = canonicalJson(e.payload);
  } catch {
    return { reason: 'hash_mismatch', message: `Device ${device}'s event at position ${e.deviceSeq} has a payload that is not canonical JSON.` };
  }
  const { hash: _h, payload: _p, ...identity } = e;
  encoded.set(e, payloadJson);
  if (hashEventWithPayloadJson(identity, payloadJson) !== e.hash) {
    return { reason: 'hash_mismatch', message: `Device ${device}'s event at position ${e.deviceSeq} does not match its hash: it was changed after it was written.` };
  }
  if (hlcMillis(e.hlc) > nowMs + MAX_CLOCK_AHEAD_MS) {
    return { reason: 'clock_ahead', message: `Device ${device}'s event at position ${e.deviceSeq} is dated more than a day ahead of this device's clock.` };
  }
  return null;
}

function registeredKey(sql: Sql, device: string, keyId: string): string | undefined {
  const row = sql.get(
    "SELECT payload FROM events WHERE device = ? AND type = ? AND json_extract(payload, '$.keyId') = ? AND json_extract(payload, '$.device') = ? LIMIT 1",
    [device, KEY_REGISTERED, keyId, device],
  );
  return row ? String((JSON.parse(String(row['payload'])) as { publicKey: string }).publicKey) : undefined;
}

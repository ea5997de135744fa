/**
 * The wire form of an ingest batch: the schema every batch another device or a relay hands to
 * `kernel.ingest` must match, and the one place it is checked.
 *
 * Invariants:
 * 1. `parseIngest` accepts exactly what `ingestSchema` accepts, with the same issues on refusal
 *    (`invalid_events`, nothing applied), and returns events and checkpoints without the
 *    sender's local positions (`seq`, `streamSeq`).
 * 2. `checkIngest` checks against the same schema (a hand-written pre-check first, wire-fast.ts,
 *    which passes nothing the schema refuses; zod decides the rest) and marks the objects it returns (a WeakSet,
 *    private to this module). `parseIngest` skips the schema only for a batch made of nothing but
 *    marked objects, in a plain `{ events, checkpoints? }` of arrays within the schema's limits:
 *    one check per event for an in-process caller that checked already (the sync client opens a
 *    chunk with `checkIngest`, then hands its events to ingest). Anything else — one unmarked
 *    event, another key, a non-array — takes the full schema as before.
 * 3. Marked objects are fresh (JSON.parse'd by the caller or copied here) and are not to be
 *    mutated: the mark vouches for them as they were when checked. Only in-process code can reach
 *    them; nothing from a relay or another device is marked without passing the schema.
 */
import { z } from 'zod';
import { KernelError, type Json } from '../errors.ts';
import type { WireEvent } from './envelope.ts';
import { HLC_PATTERN } from './hlc.ts';
import type { Checkpoint } from './checkpoint.ts';
import { surelyValid } from './wire-fast.ts';

const MAX_BATCH = 100_000;
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const json: z.ZodType<Json> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]));

export const wireEventSchema = z.object({
  id: z.string().min(1).max(200),
  device: z.string().min(1).max(200),
  deviceSeq: z.number().int().min(1),
  hlc: z.string().regex(HLC_PATTERN),
  prev: hex64,
  stream: z.string().min(1).max(2000),
  streamBase: z.number().int().min(0),
  type: z.string().min(1).max(200),
  v: z.number().int().min(1),
  at: z.string().min(1).max(100),
  actor: z.string().max(2000),
  payload: json,
  hash: hex64,
  // Local positions of the sending database are accepted (readEvents returns them) and ignored.
  seq: z.number().int().optional(),
  streamSeq: z.number().int().optional(),
}).strict();

export const wireCheckpointSchema = z.object({
  device: z.string().min(1).max(200),
  deviceSeq: z.number().int().min(1),
  headHash: hex64,
  audit: z.object({ seq: z.number().int().min(1), hash: hex64 }).strict().nullable(),
  keyId: z.string().regex(/^[0-9a-f]{16}$/),
  signature: z.string().regex(/^[0-9a-f]{128}$/),
  at: z.string().min(1).max(100),
  format: z.literal(2),
  seq: z.number().int().optional(),
}).strict();

export const ingestSchema = z.object({
  events: z.array(wireEventSchema).max(MAX_BATCH),
  checkpoints: z.array(wireCheckpointSchema).max(MAX_BATCH).optional(),
}).strict();

export type IngestInput = z.input<typeof ingestSchema>;
export type WireCheckpoint = Omit<Checkpoint, 'seq' | 'format'> & { readonly format: 2 };


export type CheckedIngest =
  | { readonly ok: true; readonly events: WireEvent[]; readonly checkpoints: WireCheckpoint[] }
  | { readonly ok: false; readonly issues: readonly { readonly path: string; readonly message: string }[] };

/** Objects that passed `ingestSchema` here, as returned (invariant 2). */
const checked = new WeakSet<object>();

/**
 * Check `input` against `ingestSchema` (invariant 2): the events and checkpoints without local
 * positions, marked so `parseIngest` does not check them again; or the schema's issues.
 */
export function checkIngest(input: unknown): CheckedIngest {
  // The hand-written pre-check passes only what the schema passes (wire-fast.ts); otherwise zod
  // decides and words the issues.
  if (!surelyValid(input)) {
    const parsed = ingestSchema.safeParse(input);
    if (!parsed.success) {
      return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) };
    }
  }
  // The input's own objects (not zod's copies), so the caller's content and ingest's are the
  // same objects; copied only when they carry local positions to drop.
  const inp = input as { events: WireEvent[]; checkpoints?: WireCheckpoint[] };
  const events = inp.events.map((e) => mark(withoutPositions(e)));
  const checkpoints = (inp.checkpoints ?? []).map((c) => mark(withoutPositions(c)));
  return { ok: true, events, checkpoints };
}

/** The batch `kernel.ingest` was handed, checked (invariant 1); throws `invalid_events`. */
export function parseIngest(input: unknown): { events: WireEvent[]; checkpoints: WireCheckpoint[] } {
  const known = alreadyChecked(input);
  if (known) return known;
  const result = checkIngest(input);
  if (!result.ok) {
    const first = result.issues[0];
    throw new KernelError('invalid_events',
      `ingest: the batch is not a list of event envelopes (${first ? `${first.path}: ${first.message}` : 'malformed'}); nothing was applied.`,
      { issues: result.issues.slice(0, 10) });
  }
  return { events: result.events, checkpoints: result.checkpoints };
}

/** The batch itself when it is a plain `{ events, checkpoints? }` of marked objects only. */
function alreadyChecked(input: unknown): { events: WireEvent[]; checkpoints: WireCheckpoint[] } | null {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) return null;
  const keys = Object.keys(input);
  if (keys.some((k) => k !== 'events' && k !== 'checkpoints') || Object.getOwnPropertySymbols(input).length > 0) return null;
  const { events, checkpoints } = input as { events?: unknown; checkpoints?: unknown };
  if (!allChecked(events) || (checkpoints !== undefined && !allChecked(checkpoints))) return null;
  // Copies of the lists (not of the objects): the caller's arrays may change while ingest awaits.
  return { events: (events as WireEvent[]).slice(), checkpoints: ((checkpoints ?? []) as WireCheckpoint[]).slice() };
}

function allChecked(list: unknown): boolean {
  if (!Array.isArray(list) || list.length > MAX_BATCH) return false;
  for (let i = 0; i < list.length; i++) {
    const x: unknown = list[i];
    if (typeof x !== 'object' || x === null || !checked.has(x)) return false;
  }
  return true;
}

function mark<T extends object>(x: T): T {
  checked.add(x);
  return x;
}

function withoutPositions<T extends object>(x: T): T {
  if (!('seq' in x) && !('streamSeq' in x)) return x;
  const { seq: _s, streamSeq: _ss, ...rest } = x as T & { seq?: unknown; streamSeq?: unknown };
  return rest as T;
}

/**
 * Chunks: a contiguous range of one device's chain, sealed for the shared document
 * (docs/sync-protocol.md, "The document"). Key `<device>/<firstDeviceSeq>-<lastDeviceSeq>`,
 * value a 12-byte IV followed by the AES-256-GCM ciphertext of the UTF-8 JSON
 * `{ "v": 1, "events": WireEvent[], "checkpoints": WireCheckpoint[] }`, the key string as
 * associated data.
 *
 * Invariants:
 * 1. Sealing is deterministic: the IV is the first 12 bytes of HKDF-SHA256(events key, salt = the
 *    key string, info `iv`), so one range always seals to the same bytes, and no two key strings
 *    share an IV under one key (HKDF outputs for distinct salts are independent).
 * 2. A key string names one range in one way: decimal positions without leading zeros, first >= 1,
 *    last >= first. `chunkKey(parseChunkKey(s)) === s` for every key that parses.
 * 3. `openChunk` never throws for anything a relay or another device could put in the document:
 *    it returns the content only when the value decrypts under this room's key with this key
 *    string, is JSON of the right shape, and holds exactly the events the key names (the key's
 *    device, every position first..last in order) and only that device's checkpoints within its
 *    window (invariant 5); otherwise a typed refusal naming why.
 * 4. `sealChunk` refuses (TypeError, a caller's bug) content that does not match its key, so an
 *    honest device never writes a chunk its peers would refuse.
 * 5. A chunk's content is fixed by its range: the events first..last and the device's signed
 *    checkpoints at positions first-1 … last-1 (`nextChunk`), all of them final once written.
 *    With the deterministic IV this is what keeps AES-GCM safe: one key string (one IV) never
 *    seals two different plaintexts, even when a device seals the same range again.
 */
import { checkIngest, type WireCheckpoint } from '../kernel/log/wire.ts';
import type { WireEvent } from '../kernel/log/envelope.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { hkdf, utf8, type ChunkKeys } from './keys.ts';

export const CHUNK_FORMAT = 1;
export const IV_BYTES = 12;
/** AES-GCM appends a 16-byte tag: a value shorter than IV + tag cannot be a chunk. */
const TAG_BYTES = 16;
/** Longest device id the kernel accepts in an envelope. */
const MAX_DEVICE_LENGTH = 200;

/** The position of a chunk: one device, a range of its chain. */
export interface ChunkKey {
  readonly device: string;
  readonly first: number;
  readonly last: number;
}

/** What a chunk holds: events and signed checkpoints as `kernel.exportChain` gives them. */
export interface ChunkContent {
  readonly events: readonly WireEvent[];
  readonly checkpoints: readonly WireCheckpoint[];
}

/** Why a chunk was refused (docs/sync.md lists them). */
export const CHUNK_REFUSALS = {
  bad_key: 'its key is not <device>/<first>-<last>',
  not_bytes: 'its value is not sealed bytes',
  not_for_this_key: 'it was not sealed for this position with this workspace\'s key (moved from another position, sealed with another epoch\'s key, or its IV changed)',
  tampered: 'it does not decrypt: its bytes were changed after sealing',
  not_json: 'it decrypts, but not to JSON',
  wrong_shape: 'it decrypts, but not to a list of event envelopes and checkpoints',
  wrong_range: 'it decrypts, but does not hold exactly the events its key names and their checkpoints',
} as const;
export type ChunkRefusalReason = keyof typeof CHUNK_REFUSALS;

export type OpenedChunk =
  | { readonly ok: true; readonly key: ChunkKey; readonly content: ChunkContent }
  | { readonly ok: false; readonly key: string; readonly reason: ChunkRefusalReason; readonly message: string };

/** The key string of a range. Throws TypeError for a range that has no key (a caller's bug). */
export function chunkKey(k: ChunkKey): string {
  if (!validRange(k)) throw new TypeError(`chunkKey: not a chunk range: ${JSON.stringify(k)}.`);
  return `${k.device}/${k.first}-${k.last}`;
}

/** The range a key string names, or null when it is not a chunk key (invariant 2). */
export function parseChunkKey(key: string): ChunkKey | null {
  if (typeof key !== 'string') return null;
  const slash = key.lastIndexOf('/');
  if (slash <= 0) return null;
  const m = /^([1-9][0-9]{0,14})-([1-9][0-9]{0,14})$/.exec(key.slice(slash + 1));
  if (!m) return null;
  const k = { device: key.slice(0, slash), first: Number(m[1]), last: Number(m[2]) };
  return validRange(k) ? k : null;
}

/** How many events a chunk key names. */
export function chunkLength(k: ChunkKey): number {
  return k.last - k.first + 1;
}

/**
 * The chunk that follows position `after` of `device`'s chain in this kernel: at most `maxEvents`
 * events, with the checkpoints at positions after … last-1 (invariant 5); null when there is no
 * event after `after`. The caller must make sure no checkpoint of the device is still being
 * signed or waiting to be written (`kernel.checkpointsSettled()`), or one could be missing here
 * and present when the same range is sealed again.
 */
export function nextChunk(kernel: Pick<Kernel, 'exportChain'>, device: string, after: number, maxEvents: number): { key: string; content: ChunkContent } | null {
  // One read from position after-1: the checkpoint at `after` comes with it (exportChain gives a
  // range's checkpoints after its start), and the event at after-1 is dropped.
  const from = Math.max(0, after - 1);
  const exported = kernel.exportChain(device, from, maxEvents + (after - from));
  const events = exported.events.filter((e) => e.deviceSeq > after);
  if (events.length === 0) return null;
  const last = events[events.length - 1]!.deviceSeq;
  const checkpoints = exported.checkpoints.filter((c) => c.deviceSeq >= after && c.deviceSeq < last);
  return { key: chunkKey({ device, first: after + 1, last }), content: { events, checkpoints } };
}

/**
 * Seal `content` for `key`: IV || AES-GCM(JSON), the key string as associated data. Throws
 * TypeError when the content does not match the key (invariant 4).
 */
export async function sealChunk(keys: ChunkKeys, key: string, content: ChunkContent): Promise<Uint8Array> {
  const k = parseChunkKey(key);
  if (!k) throw new TypeError(`sealChunk: ${JSON.stringify(key)} is not a chunk key (<device>/<first>-<last>).`);
  const mismatch = rangeProblem(k, content);
  if (mismatch) throw new TypeError(`sealChunk: the content does not match key ${key}: ${mismatch}.`);
  const plain = utf8(JSON.stringify({ v: CHUNK_FORMAT, events: content.events, checkpoints: content.checkpoints }));
  const iv = await chunkIv(keys, key);
  const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(key) }, keys.aes, plain));
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return out;
}

/** Open the value found at `key` (invariant 3): the content, or a typed refusal. Never throws. */
export async function openChunk(keys: ChunkKeys, key: string, value: unknown): Promise<OpenedChunk> {
  const refuse = (reason: ChunkRefusalReason, detail = ''): OpenedChunk =>
    ({ ok: false, key, reason, message: `The chunk ${key} was refused: ${CHUNK_REFUSALS[reason]}${detail ? ` (${detail})` : ''}.` });
  const k = parseChunkKey(key);
  if (!k) return refuse('bad_key');
  if (!(value instanceof Uint8Array) || value.length < IV_BYTES + TAG_BYTES) return refuse('not_bytes');
  let iv: Uint8Array<ArrayBuffer>;
  try {
    iv = await chunkIv(keys, key);
  } catch (err) {
    return refuse('not_for_this_key', `the IV could not be derived: ${String(err)}`);
  }
  for (let i = 0; i < IV_BYTES; i++) if (value[i] !== iv[i]) return refuse('not_for_this_key');
  let plain: ArrayBuffer;
  try {
    plain = await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: utf8(key) }, keys.aes, value.slice(IV_BYTES));
  } catch {
    // WebCrypto answers an authentication failure with a bare OperationError: nothing more to say.
    return refuse('tampered');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    return refuse('not_json');
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { v?: unknown }).v !== CHUNK_FORMAT) return refuse('wrong_shape', `format ${String((parsed as { v?: unknown } | null)?.v)}, expected ${CHUNK_FORMAT}`);
  const { events, checkpoints } = parsed as { events?: unknown; checkpoints?: unknown };
  // The schema kernel.ingest checks, once: the content's objects are marked as checked, so ingest
  // does not check them again (worker/kernel/log/wire.ts, invariant 2).
  const checked = checkIngest({ events, checkpoints });
  if (!checked.ok) {
    const first = checked.issues[0];
    return refuse('wrong_shape', first ? `${first.path}: ${first.message}` : 'malformed');
  }
  const content: ChunkContent = { events: checked.events, checkpoints: checked.checkpoints };
  const mismatch = rangeProblem(k, content);
  if (mismatch) return refuse('wrong_range', mismatch);
  return { ok: true, key: k, content };
}

/** The IV of a key string: the first 12 bytes of HKDF(events key, salt = key, info 'iv'). */
export async function chunkIv(keys: ChunkKeys, key: string): Promise<Uint8Array<ArrayBuffer>> {
  return hkdf(keys.iv, utf8(key), 'iv', IV_BYTES);
}

function validRange(k: ChunkKey): boolean {
  return typeof k.device === 'string' && k.device.length > 0 && k.device.length <= MAX_DEVICE_LENGTH
    && Number.isSafeInteger(k.first) && Number.isSafeInteger(k.last) && k.first >= 1 && k.last >= k.first;
}

/** Why `content` is not exactly the range `k` names, or null. */
function rangeProblem(k: ChunkKey, content: ChunkContent): string | null {
  if (content.events.length !== chunkLength(k)) return `${content.events.length} events for positions ${k.first}-${k.last}`;
  for (let i = 0; i < content.events.length; i++) {
    const e = content.events[i]!;
    if (e.device !== k.device || e.deviceSeq !== k.first + i) return `event ${i} is ${e.device}/${e.deviceSeq}, expected ${k.device}/${k.first + i}`;
  }
  for (const c of content.checkpoints) {
    if (c.device !== k.device || c.deviceSeq < k.first - 1 || c.deviceSeq > k.last - 1) {
      return `a checkpoint of ${c.device}/${c.deviceSeq} is not one of ${k.device} at ${k.first - 1}-${k.last - 1}`;
    }
  }
  return null;
}

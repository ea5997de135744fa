/**
 * Fetching and checking a pack: the bytes an index entry names by SHA-256 and size.
 *
 * Invariants:
 * 1. A download never holds more than the declared size plus one chunk: reading stops as soon as
 *    the body grows past `entry.size` (an endless or oversized response is refused early).
 * 2. `checkPack` is the only gate: size equal to the declared one and SHA-256 equal to the
 *    entry's, else a typed refusal; nothing is installed from unchecked bytes.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { IndexEntry } from './format.ts';

export type PackRefusal =
  | { readonly code: 'oversize'; readonly message: string }
  | { readonly code: 'tampered'; readonly message: string; readonly expected: string; readonly actual: string }
  | { readonly code: 'unreachable'; readonly message: string };

/** Checks downloaded bytes against their index entry. */
export function checkPack(entry: Pick<IndexEntry, 'name' | 'version' | 'sha256' | 'size'>, bytes: Uint8Array): { ok: true } | { ok: false; refusal: PackRefusal } {
  if (bytes.length > entry.size) {
    return { ok: false, refusal: { code: 'oversize', message: `The pack of ${entry.name}@${entry.version} is larger than the index says (${bytes.length} > ${entry.size} bytes); it was refused.` } };
  }
  const actual = bytesToHex(sha256(bytes));
  if (actual !== entry.sha256 || bytes.length !== entry.size) {
    return { ok: false, refusal: { code: 'tampered', message: `The pack of ${entry.name}@${entry.version} does not match the signed index (its SHA-256 differs): it was changed or damaged on the way, and nothing was installed.`, expected: entry.sha256, actual } };
  }
  return { ok: true };
}

/** Reads a response body, stopping past `limit` bytes (returns what was read, at most limit + one chunk). */
export async function readLimited(response: Response, limit: number): Promise<{ bytes: Uint8Array; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (reader === undefined) return { bytes: new Uint8Array(0), truncated: false };
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.length;
      if (total > limit) {
        await reader.cancel();
        return { bytes: concat(chunks, total), truncated: true };
      }
    }
  } finally {
    reader.releaseLock();
  }
  return { bytes: concat(chunks, total), truncated: false };
}

/** Downloads the pack at `url` and checks it against `entry`. */
export async function fetchPack(url: string, entry: IndexEntry, fetchImpl: typeof fetch = fetch): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; refusal: PackRefusal }> {
  let response: Response;
  try {
    response = await fetchImpl(url, { cache: 'no-store', redirect: 'follow' });
  } catch (err) {
    return { ok: false, refusal: { code: 'unreachable', message: `The pack of ${entry.name}@${entry.version} could not be downloaded (${err instanceof Error ? err.message : String(err)}). Check the connection and try again.` } };
  }
  if (!response.ok) {
    return { ok: false, refusal: { code: 'unreachable', message: `The realm answered ${response.status} for the pack of ${entry.name}@${entry.version}. Try again later or ask the realm's owner.` } };
  }
  const { bytes } = await readLimited(response, entry.size);
  const checked = checkPack(entry, bytes);
  return checked.ok ? { ok: true, bytes } : checked;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

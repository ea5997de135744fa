/**
 * SHA-256 helpers. Synchronous (noble) so hashing happens inside the SQLite transaction without
 * yielding; WebCrypto's digest is async and would split a command across microtasks.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { sha256HexFast } from './sha256-fast.ts';

export function sha256Hex(text: string): string {
  return sha256HexFast(text);
}

export function sha256Bytes(data: Uint8Array): string {
  return bytesToHex(sha256(data));
}

/** The `prev` of the first event / audit entry in a chain. */
export const GENESIS = '0'.repeat(64);

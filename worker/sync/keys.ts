/**
 * The sync keys of a workspace (docs/sync-protocol.md, "Keys"): one random epoch key shared by
 * the person's devices, and everything derived from it with HKDF-SHA256: the room id the relay
 * sees, the AES-256-GCM key that seals chunks (and the HKDF key that derives their IVs), and the
 * Ed25519 key pair that signs relay tokens.
 *
 * Invariants:
 * 1. WebCrypto only (globalThis.crypto.subtle): the same code runs in Node 20, a browser window
 *    and a Web Worker. No DOM.
 * 2. Every derivation is HKDF-SHA256 over the epoch key with salt `kingdom.sync/1`, 32 bytes,
 *    `info` naming its use (`room`, `events`, `relay-auth`); the same epoch key gives the same
 *    room on every device.
 * 3. Derived secret keys are imported non-extractable: after `deriveRoom` returns, no derived
 *    secret byte is reachable from JS (the epoch key itself is the caller's to keep).
 * 4. A relay token is `k1.<expiresAtMs>.<publicKeyHex>.<signatureHex>`, an Ed25519 signature over
 *    `kingdom.relay/1\n<roomId>\n<expiresAtMs>`; the relay accepts one expiring at most
 *    RELAY_TOKEN_MAX_AHEAD_MS after its own clock.
 */
import { bytesToHex } from '@noble/hashes/utils.js';

export const EPOCH_KEY_BYTES = 32;
export const KEY_SALT = 'kingdom.sync/1';
export const RELAY_TOKEN_DOMAIN = 'kingdom.relay/1';
/** The relay refuses a token that expires further ahead than this (docs/sync-protocol.md). */
export const RELAY_TOKEN_MAX_AHEAD_MS = 10 * 60_000;
/** PKCS#8 DER of an Ed25519 private key, up to the 32 seed bytes that follow it (RFC 8410). */
export const ED25519_PKCS8_PREFIX = '302e020100300506032b657004220420';

/** The keys that seal and open chunks. Both hold the same derived `events` bytes; neither exports them. */
export interface ChunkKeys {
  /** AES-256-GCM: encrypt and decrypt chunk contents. */
  readonly aes: CryptoKey;
  /** The same bytes as HKDF key material: derives each chunk's IV from its key string. */
  readonly iv: CryptoKey;
}

/** The room's relay-auth key pair (the private half non-extractable). */
export interface RelayAuthKeys {
  readonly privateKey: CryptoKey;
  /** The raw 32-byte public key, lowercase hex: what a token carries and the relay pins. */
  readonly publicKeyHex: string;
}

/** Everything a device needs to sync one epoch of one workspace. */
export interface Room {
  /** 64 lowercase hex characters: all the relay learns about the workspace. */
  readonly roomId: string;
  readonly chunkKeys: ChunkKeys;
  readonly authKeys: RelayAuthKeys;
}

/** A fresh epoch key: 32 random bytes from the platform's CSPRNG. */
export function newEpochKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(EPOCH_KEY_BYTES));
}

/**
 * Derive the room of an epoch key. Throws a TypeError (a bug of the caller) when the key is not
 * 32 bytes; otherwise only fails when the platform lacks HKDF, AES-GCM or Ed25519.
 */
export async function deriveRoom(epochKey: Uint8Array): Promise<Room> {
  if (!(epochKey instanceof Uint8Array) || epochKey.length !== EPOCH_KEY_BYTES) {
    throw new TypeError(`deriveRoom: the epoch key must be ${EPOCH_KEY_BYTES} bytes (got ${epochKey instanceof Uint8Array ? epochKey.length : typeof epochKey}).`);
  }
  const subtle = globalThis.crypto.subtle;
  const base = await subtle.importKey('raw', copy(epochKey), 'HKDF', false, ['deriveBits']);
  const room = await hkdf(base, utf8(KEY_SALT), 'room');
  const events = await hkdf(base, utf8(KEY_SALT), 'events');
  const seed = await hkdf(base, utf8(KEY_SALT), 'relay-auth');
  try {
    const chunkKeys: ChunkKeys = {
      aes: await subtle.importKey('raw', events, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']),
      iv: await subtle.importKey('raw', events, 'HKDF', false, ['deriveBits']),
    };
    return { roomId: bytesToHex(room), chunkKeys, authKeys: await authKeysFromSeed(seed) };
  } finally {
    events.fill(0);
    seed.fill(0);
  }
}

/**
 * A relay token for `roomId`, valid until `expiresAtMs` (epoch milliseconds, an integer). The
 * relay refuses tokens that expired or expire more than RELAY_TOKEN_MAX_AHEAD_MS ahead of its
 * clock, so callers mint short-lived ones (worker/sync/websocket.ts: 5 minutes).
 */
export async function relayToken(authKeys: RelayAuthKeys, roomId: string, expiresAtMs: number): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(roomId)) throw new TypeError(`relayToken: the room id must be 64 lowercase hex characters (got ${JSON.stringify(roomId)}).`);
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) throw new TypeError(`relayToken: expiresAtMs must be a non-negative integer (got ${String(expiresAtMs)}).`);
  const signature = await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, authKeys.privateKey, utf8(relayTokenMessage(roomId, expiresAtMs)));
  return `k1.${expiresAtMs}.${authKeys.publicKeyHex}.${bytesToHex(new Uint8Array(signature))}`;
}

/** The text a relay token signs. */
export function relayTokenMessage(roomId: string, expiresAtMs: number): string {
  return `${RELAY_TOKEN_DOMAIN}\n${roomId}\n${expiresAtMs}`;
}

/** UTF-8 bytes of a string, on a plain ArrayBuffer (what WebCrypto's typings ask for). */
export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

/** HKDF-SHA256 of `base` with `salt` and `info`, `bytes` long. */
export async function hkdf(base: CryptoKey, salt: Uint8Array<ArrayBuffer>, info: string, bytes = 32): Promise<Uint8Array<ArrayBuffer>> {
  const bits = await globalThis.crypto.subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt, info: utf8(info) }, base, bytes * 8);
  return new Uint8Array(bits);
}

/**
 * The Ed25519 pair whose private key is `seed`. WebCrypto imports a private key only as PKCS#8
 * (or JWK), and cannot compute a public key from a non-extractable private one: so the seed is
 * imported once extractable to read the public half (JWK `x`), then again non-extractable to keep.
 */
async function authKeysFromSeed(seed: Uint8Array<ArrayBuffer>): Promise<RelayAuthKeys> {
  const subtle = globalThis.crypto.subtle;
  const prefix = hexBytes(ED25519_PKCS8_PREFIX);
  const pkcs8 = new Uint8Array(prefix.length + seed.length);
  pkcs8.set(prefix);
  pkcs8.set(seed, prefix.length);
  try {
    const readable = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, true, ['sign']);
    const jwk = await subtle.exportKey('jwk', readable);
    if (typeof jwk.x !== 'string') throw new Error('deriveRoom: the platform exported an Ed25519 private key without its public half.');
    const privateKey = await subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    return { privateKey, publicKeyHex: bytesToHex(base64UrlBytes(jwk.x)) };
  } finally {
    pkcs8.fill(0);
  }
}

function copy(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function hexBytes(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Bytes as unpadded base64url (links and JSON fields). */
export function bytesToBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Unpadded (or padded) base64url text as bytes; throws on characters outside the alphabet. */
export function base64UrlBytes(text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Relay tokens and room ids, as docs/sync-protocol.md ("Relay tokens") defines them.
 *
 * A client connects to `/<roomId>?token=k1.<expiresAtMs>.<publicKeyHex>.<signatureHex>`; the
 * token is an Ed25519 signature (WebCrypto) over `kingdom.relay/1\n<roomId>\n<expiresAtMs>`.
 *
 * Invariants:
 * 1. A room id is exactly 64 lowercase hex characters; nothing else names a room (so a room id
 *    is also a safe file name).
 * 2. A token is accepted only in its canonical form: `expiresAtMs` a decimal safe integer
 *    without leading zeros, the key 64 and the signature 128 lowercase hex characters. The
 *    signed text uses the token's own digits, so one expiry has exactly one spelling.
 * 3. A token verifies only when its expiry is in the future and at most TOKEN_MAX_AHEAD_MS
 *    ahead of the relay's clock, and the signature checks out for this room id. Whether the key
 *    is the room's pinned key is decided by the caller (key-pins.ts), after this check.
 * 4. Nothing here throws on bad input: every refusal is a reason code, for the log only (the
 *    client gets the same bare 401 whatever the reason).
 */

export const TOKEN_PREFIX = 'k1';
export const TOKEN_CONTEXT = 'kingdom.relay/1';
/** A token may expire at most this far ahead of the relay's clock (10 minutes). */
export const TOKEN_MAX_AHEAD_MS = 10 * 60 * 1000;

const ROOM_ID = /^[0-9a-f]{64}$/;
const TOKEN = /^k1\.([1-9][0-9]{0,15})\.([0-9a-f]{64})\.([0-9a-f]{128})$/;

export const TokenRefusal = {
  missing: 'missing',
  malformed: 'malformed',
  expired: 'expired',
  tooFarAhead: 'too_far_ahead',
  badSignature: 'bad_signature',
  keyNotPinned: 'key_not_pinned',
} as const;
export type TokenRefusal = (typeof TokenRefusal)[keyof typeof TokenRefusal];

export interface Token {
  readonly expiresAtMs: number;
  readonly expiresAtText: string;
  readonly publicKeyHex: string;
  readonly signatureHex: string;
}

export type Verified =
  | { readonly ok: true; readonly publicKeyHex: string; readonly expiresAtMs: number; readonly rateKey: string }
  | { readonly ok: false; readonly reason: TokenRefusal };

/** The request target of a connection: its room id, or why it names none, plus its token text. */
export type Target =
  | { readonly ok: true; readonly roomId: string; readonly token: string | null }
  | { readonly ok: false };

export function isRoomId(value: string): boolean {
  return ROOM_ID.test(value);
}

/**
 * Reads `/<roomId>?token=...` from a request URL. The path must be exactly one segment holding a
 * room id; a token appearing more than once counts as absent (it is then refused as malformed).
 */
export function parseTarget(url: string | undefined): Target {
  if (url === undefined || !url.startsWith('/')) return { ok: false };
  const q = url.indexOf('?');
  const roomId = (q === -1 ? url : url.slice(0, q)).slice(1);
  if (!isRoomId(roomId)) return { ok: false };
  const params = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
  const tokens = params.getAll('token');
  if (tokens.length === 0) return { ok: true, roomId, token: null };
  return { ok: true, roomId, token: tokens.length === 1 ? (tokens[0] ?? null) : '' };
}

export function parseToken(text: string): Token | null {
  const m = TOKEN.exec(text);
  if (m === null) return null;
  const [, expiresAtText, publicKeyHex, signatureHex] = m;
  if (expiresAtText === undefined || publicKeyHex === undefined || signatureHex === undefined) return null;
  const expiresAtMs = Number(expiresAtText);
  if (!Number.isSafeInteger(expiresAtMs)) return null;
  return { expiresAtMs, expiresAtText, publicKeyHex, signatureHex };
}

/** The exact bytes a token signs. */
export function signedText(roomId: string, expiresAtText: string): string {
  return `${TOKEN_CONTEXT}\n${roomId}\n${expiresAtText}`;
}

/**
 * Checks a token's form, time window and signature for `roomId` (not the pinned key: see
 * key-pins.ts). `rateKey` identifies the token for rate limits (its signature, never logged).
 */
export async function verifyToken(roomId: string, text: string | null, nowMs: number): Promise<Verified> {
  if (text === null) return { ok: false, reason: TokenRefusal.missing };
  const token = parseToken(text);
  if (token === null) return { ok: false, reason: TokenRefusal.malformed };
  if (token.expiresAtMs <= nowMs) return { ok: false, reason: TokenRefusal.expired };
  if (token.expiresAtMs > nowMs + TOKEN_MAX_AHEAD_MS) return { ok: false, reason: TokenRefusal.tooFarAhead };
  const valid = await verifySignature(token.publicKeyHex, token.signatureHex, signedText(roomId, token.expiresAtText));
  if (!valid) return { ok: false, reason: TokenRefusal.badSignature };
  return { ok: true, publicKeyHex: token.publicKeyHex, expiresAtMs: token.expiresAtMs, rateKey: token.signatureHex };
}

async function verifySignature(publicKeyHex: string, signatureHex: string, message: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('raw', hexToBytes(publicKeyHex), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(signatureHex), new TextEncoder().encode(message));
  } catch {
    // A key WebCrypto cannot import (not a curve point) cannot have signed anything.
    return false;
  }
}

function hexToBytes(hex: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/**
 * The sealing primitives pairing and epochs share (WebCrypto only): a P-256 ECDH key pair, the
 * AES-256-GCM key two ECDH key holders compute (HKDF-SHA256 over the shared bits), and AES-GCM
 * boxes laid out as `iv (12) ‖ ciphertext`. Opening never throws: a box that does not open is null.
 */
import { hkdf, utf8 } from './keys.ts';

const subtle = () => globalThis.crypto.subtle;

/** A fresh P-256 ECDH pair (private half non-extractable) and its raw public key. */
export async function p256Pair(): Promise<{ pair: CryptoKeyPair; publicRaw: Uint8Array }> {
  const pair = await subtle().generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']) as CryptoKeyPair;
  return { pair, publicRaw: new Uint8Array(await subtle().exportKey('raw', pair.publicKey)) };
}

/** The AES-GCM key only the holders of `own` and of the private half of `otherRaw` can compute. */
export async function ecdhAesKey(own: CryptoKey, otherRaw: Uint8Array, salt: string, info: string): Promise<CryptoKey> {
  const other = await subtle().importKey('raw', new Uint8Array(otherRaw), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  const bits = new Uint8Array(await subtle().deriveBits({ name: 'ECDH', public: other }, own, 256));
  const base = await subtle().importKey('raw', bits, 'HKDF', false, ['deriveBits']);
  return subtle().importKey('raw', await hkdf(base, utf8(salt), info), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

/** `plain` sealed with a random IV and `aad` as associated data: `iv ‖ ciphertext`. */
export async function sealBytes(key: CryptoKey, aad: Uint8Array<ArrayBuffer>, plain: Uint8Array): Promise<Uint8Array> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, new Uint8Array(plain)));
  const out = new Uint8Array(12 + ct.length);
  out.set(iv);
  out.set(ct, 12);
  return out;
}

/** The plaintext of a `sealBytes` box, or null when it does not open (changed, moved, other key). */
export async function openBytes(key: CryptoKey, aad: Uint8Array<ArrayBuffer>, sealed: Uint8Array): Promise<Uint8Array | null> {
  if (sealed.length < 28) return null;
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: sealed.slice(0, 12), additionalData: aad }, key, sealed.slice(12)));
  } catch {
    return null;
  }
}

/**
 * Signatures of realm files: DSSE envelopes (https://github.com/secure-systems-lab/dsse) over
 * the whole index with Ed25519 (WebCrypto, as device keys), and publishers' key-rotation notes.
 *
 * What is signed is the DSSE pre-authentication encoding (PAE) of the payload type and the
 * payload bytes, never the JSON as parsed: two parsers that read a payload differently cannot
 * make one signature cover two meanings, and a signature for another payload type (another use
 * of the same key) never verifies here.
 *
 * Invariants:
 * 1. Host-neutral (browser worker and Node 20): WebCrypto, btoa/atob, TextEncoder only.
 * 2. `verify*` never throws: malformed keys or signatures are simply not valid.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { Envelope, RealmRoot } from './format.ts';

const utf8 = new TextEncoder();

/** DSSE v1 PAE: `DSSEv1 <len(type)> <type> <len(body)> <body>` (lengths in ASCII decimal bytes). */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8.encode(payloadType);
  const head = utf8.encode(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}

export function keyIdOf(publicKeyHex: string): string {
  return bytesToHex(sha256(hexToBytes(publicKeyHex))).slice(0, 16);
}

export async function signBytes(privateKey: CryptoKey, bytes: Uint8Array): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, privateKey, bytes as Uint8Array<ArrayBuffer>)));
}

export async function verifyBytes(publicKeyHex: string, signatureHex: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('raw', hexToBytes(publicKeyHex) as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(signatureHex) as Uint8Array<ArrayBuffer>, bytes as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

export function base64Encode(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Standard base64 to bytes; null when it is not base64. */
export function base64Decode(text: string): Uint8Array | null {
  try {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}

/**
 * The root keys whose signature over the envelope verifies (each key counted once, however many
 * signatures name it); the index is trusted when there are at least `root.threshold`.
 */
export async function validSigners(root: RealmRoot, envelope: Envelope, payload: Uint8Array): Promise<string[]> {
  const message = pae(envelope.payloadType, payload);
  const signers = new Set<string>();
  for (const s of envelope.signatures) {
    const key = root.keys.find((k) => k.keyId === s.keyid && keyIdOf(k.publicKey) === k.keyId);
    if (key === undefined || signers.has(key.keyId)) continue;
    if (await verifyBytes(key.publicKey, s.sig, message)) signers.add(key.keyId);
  }
  return [...signers];
}

/** Signs `payload` as an envelope of `payloadType` with each key. */
export async function signEnvelope(payloadType: Envelope['payloadType'], payload: Uint8Array, keys: readonly { readonly privateKey: CryptoKey; readonly publicKeyHex: string }[]): Promise<Envelope> {
  const message = pae(payloadType, payload);
  const signatures = [];
  for (const k of keys) signatures.push({ keyid: keyIdOf(k.publicKeyHex), sig: await signBytes(k.privateKey, message) });
  return { payloadType, payload: base64Encode(payload), signatures };
}

/** The bytes a publisher signs to hand kata `kata` over from key `from` to key `to`. */
export function rotationMessage(kata: string, from: string, to: string): Uint8Array {
  return utf8.encode(`kingdom.key-rotation/1\n${kata}\n${from}\n${to}\n`);
}

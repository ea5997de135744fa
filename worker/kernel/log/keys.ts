/**
 * Device signing keys (Ed25519 via WebCrypto) and where their private halves live.
 *
 * Invariants:
 * 1. The private key never enters the database or the log; only the public key is recorded
 *    (event `device.key_registered`, audited).
 * 2. Where the platform allows, the private key is non-extractable (browser: a CryptoKey stored
 *    in IndexedDB by structured clone).
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { sha256Bytes } from './hash.ts';

export interface DeviceKeyPair {
  readonly privateKey: CryptoKey;
  readonly publicKeyHex: string;
  readonly keyId: string;
}

/**
 * The newest checkpoint a device signed, remembered OUTSIDE the database (beside its key): an
 * attacker who deletes checkpoints from the database file and re-hashes the history after them
 * cannot also take this back, so verify names the missing checkpoint.
 */
export interface Anchor {
  readonly deviceSeq: number;
  readonly headHash: string;
}

/** Persists a device's key pair (and its checkpoint anchor) between opens. */
export interface KeyStore {
  readonly kind: string;
  load(deviceId: string): Promise<DeviceKeyPair | null>;
  /** Create, persist and return a new key pair for the device. */
  create(deviceId: string): Promise<DeviceKeyPair>;
  loadAnchor(deviceId: string): Promise<Anchor | null>;
  saveAnchor(deviceId: string, anchor: Anchor): Promise<void>;
}

export const SIGNATURE_ALGORITHM = 'Ed25519';

export async function publicKeyHexOf(publicKey: CryptoKey): Promise<string> {
  return bytesToHex(new Uint8Array(await crypto.subtle.exportKey('raw', publicKey)));
}

export function keyIdOf(publicKeyHex: string): string {
  return sha256Bytes(hexToBytes(publicKeyHex)).slice(0, 16);
}

export async function generateKeyPair(extractable: boolean): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey({ name: 'Ed25519' }, extractable, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function sign(key: CryptoKey, message: string): Promise<string> {
  const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key, new TextEncoder().encode(message));
  return bytesToHex(new Uint8Array(sig));
}

export async function verifySignature(publicKeyHex: string, signatureHex: string, message: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('raw', hexToBytes(publicKeyHex), { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, hexToBytes(signatureHex), new TextEncoder().encode(message));
  } catch {
    // Malformed hex or key bytes: a signature that cannot even be checked is not valid.
    return false;
  }
}

/** Keys held in memory for the life of the process (tests, benchmarks, in-memory fallback). */
export function memoryKeyStore(): KeyStore {
  const keys = new Map<string, DeviceKeyPair>();
  const anchors = new Map<string, Anchor>();
  return {
    kind: 'memory',
    async loadAnchor(deviceId) {
      return anchors.get(deviceId) ?? null;
    },
    async saveAnchor(deviceId, anchor) {
      anchors.set(deviceId, anchor);
    },
    async load(deviceId) {
      return keys.get(deviceId) ?? null;
    },
    async create(deviceId) {
      const pair = await generateKeyPair(false);
      const publicKeyHex = await publicKeyHexOf(pair.publicKey);
      const k = { privateKey: pair.privateKey, publicKeyHex, keyId: keyIdOf(publicKeyHex) };
      keys.set(deviceId, k);
      return k;
    },
  };
}

/**
 * Key epochs and what is sealed to them (docs/sync-protocol.md, "Epochs" and "Shared secrets").
 *
 * Each device keeps a static P-256 ECDH key pair for sync (its sealing key; the private half
 * non-extractable) and announces the public half in the log (`sync.announce_key`). Removing a
 * device starts a new epoch: a fresh epoch key, sealed once per remaining device to its sealing
 * key (ECDH with one ephemeral key pair, HKDF-SHA256, AES-256-GCM), recorded as
 * `sync.epoch_rotated`. A secret a person shares travels sealed to the epoch key.
 *
 * Invariants:
 * 1. WebCrypto only; no DOM (runs in the kernel's worker and in Node).
 * 2. Every box's associated data names what it is for (epoch and device; workspace, name and
 *    epoch for a secret), so a box moved to another device, epoch or secret does not open.
 * 3. Opening never throws: a box that does not open is `null`.
 */
import { base64UrlBytes, bytesToBase64Url, hkdf, utf8 } from './keys.ts';
import { ecdhAesKey, openBytes, p256Pair, sealBytes } from './seal.ts';

const EPOCH_DOMAIN = 'kingdom.epoch/1';
const SECRET_DOMAIN = 'kingdom.secret/1';
const subtle = () => globalThis.crypto.subtle;

/** A device's sealing key pair: the private half non-extractable, the public half raw in base64url. */
export interface SealingKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: string;
}

export async function newSealingKey(): Promise<SealingKey> {
  const { pair, publicRaw } = await p256Pair();
  return { privateKey: pair.privateKey, publicKey: bytesToBase64Url(publicRaw) };
}

export interface SealedEpoch {
  readonly ephemeral: string;
  readonly boxes: { readonly [device: string]: string };
}

/** Seal `epochKey` of epoch `epoch` to each recipient's announced sealing key. */
export async function sealEpoch(epochKey: Uint8Array, epoch: number, recipients: readonly { device: string; publicKey: string }[]): Promise<SealedEpoch> {
  const eph = await p256Pair();
  const boxes: Record<string, string> = {};
  for (const r of recipients) {
    const key = await boxKey(eph.pair.privateKey, r.publicKey, epoch, r.device);
    boxes[r.device] = await sealWith(key, epochAad(epoch, r.device), epochKey);
  }
  return { ephemeral: bytesToBase64Url(eph.publicRaw), boxes };
}

/** This device's epoch key from a rotation, or null when it has no box or the box does not open. */
export async function openEpoch(row: { epoch: number; ephemeral: string; boxes: { readonly [d: string]: string } }, device: string, own: SealingKey): Promise<Uint8Array | null> {
  const box = row.boxes[device];
  if (!box) return null;
  try {
    const key = await boxKey(own.privateKey, row.ephemeral, row.epoch, device);
    const out = await openWith(key, epochAad(row.epoch, device), box);
    return out?.length === 32 ? out : null;
  } catch {
    return null;
  }
}

/** A secret value sealed to the epoch key, for `secret.share`. */
export async function sealSecret(epochKey: Uint8Array, epoch: number, workspaceId: string, name: string, value: string): Promise<string> {
  return sealWith(await secretKey(epochKey), secretAad(epoch, workspaceId, name), utf8(value));
}

export async function openSecret(epochKey: Uint8Array, epoch: number, workspaceId: string, name: string, sealed: string): Promise<string | null> {
  const out = await openWith(await secretKey(epochKey), secretAad(epoch, workspaceId, name), sealed);
  return out ? new TextDecoder().decode(out) : null;
}

const epochAad = (epoch: number, device: string) => utf8(`${EPOCH_DOMAIN}\n${epoch}\n${device}`);
const secretAad = (epoch: number, workspaceId: string, name: string) => utf8(`${SECRET_DOMAIN}\n${epoch}\n${workspaceId}\n${name}`);

function boxKey(own: CryptoKey, otherPublic: string, epoch: number, device: string): Promise<CryptoKey> {
  return ecdhAesKey(own, base64UrlBytes(otherPublic), EPOCH_DOMAIN, `box:${epoch}:${device}`);
}

async function secretKey(epochKey: Uint8Array): Promise<CryptoKey> {
  const base = await subtle().importKey('raw', new Uint8Array(epochKey), 'HKDF', false, ['deriveBits']);
  const raw = await hkdf(base, utf8(SECRET_DOMAIN), 'secrets');
  return subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
}

async function sealWith(key: CryptoKey, aad: Uint8Array<ArrayBuffer>, plain: Uint8Array): Promise<string> {
  return bytesToBase64Url(await sealBytes(key, aad, plain));
}

async function openWith(key: CryptoKey, aad: Uint8Array<ArrayBuffer>, sealed: string): Promise<Uint8Array | null> {
  let bytes: Uint8Array;
  try {
    bytes = base64UrlBytes(sealed);
  } catch {
    return null;
  }
  return openBytes(key, aad, bytes);
}

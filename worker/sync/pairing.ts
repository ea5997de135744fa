/**
 * Pairing a new device into a workspace's sync (docs/sync-protocol.md, "Pairing").
 *
 * The device that has sync (the inviter) makes an invitation: a one-time secret, the relay, an
 * expiry (5 minutes). It travels as a link whose fragment carries it (never sent to a server) or as
 * a QR code of that link. Both devices then meet in a pairing room derived from the secret, like a
 * workspace room from its epoch key, on the same relay.
 *
 *   joiner  → 'hello'   { device, name, ecdh }          sealed with the pairing room's key
 *   inviter → 'offer'   { device, name, ecdh }          sealed with the pairing room's key
 *   both show the same six-digit code: SHA-256 over the secret and both hello/offer messages
 *   inviter → 'welcome' { epochKey, relay }             after its person confirmed; sealed AGAIN
 *                                                       with a key from ECDH(inviter, joiner)
 *   joiner  → 'joined'  { device }                      after its person confirmed and the
 *                                                       welcome opened; the inviter records device.add
 *
 * Invariants:
 * 1. Whoever sees the link can write a hello, but only the device whose ECDH key is in the hello
 *    can open the welcome; a hello replaced on the way changes the code on one screen, so the
 *    people comparing codes do not confirm.
 * 2. Nothing is sent before its person confirmed: the epoch key leaves the inviter only after
 *    confirmation there; the joiner uses it only after confirmation there.
 * 3. An expired or malformed invitation, or a message that does not open, is a typed refusal with
 *    a sentence a person understands, never a raw exception.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type * as Y from 'yjs';
import { base64UrlBytes as unb64url, bytesToBase64Url as b64url, deriveRoom, utf8, type Room } from './keys.ts';
import { ecdhAesKey, openBytes, p256Pair, sealBytes } from './seal.ts';

export const PAIRING_TTL_MS = 5 * 60_000;
export const PAIR_MAP = 'pair';
const PAIR_DOMAIN = 'kingdom.pair/1';

export interface Invitation {
  readonly relay: string;
  /** 32 random bytes, used once. */
  readonly secret: Uint8Array;
  readonly expiresAt: number;
  /** The inviting device's id (shown to the joiner). */
  readonly inviter: string;
}

export type PairingRefusal = { readonly ok: false; readonly code: 'pairing_invalid' | 'pairing_expired' | 'pairing_tampered'; readonly message: string };

export interface Party {
  readonly device: string;
  readonly name: string;
}

/** Where the two devices leave their messages: a Y.Map of the pairing room, or anything like it. */
export interface Mailbox {
  get(name: string): Uint8Array | undefined;
  set(name: string, value: Uint8Array): void;
  /** Resolves with the message once it is there (at once when it already is). */
  wait(name: string, signal?: AbortSignal): Promise<Uint8Array>;
}

export function newInvitation(relay: string, inviter: string, nowMs: number): Invitation {
  return { relay, inviter, expiresAt: nowMs + PAIRING_TTL_MS, secret: globalThis.crypto.getRandomValues(new Uint8Array(32)) };
}

/** The invitation as the text after `#pair=` in a link (base64url of compact JSON). */
export function invitationText(inv: Invitation): string {
  return b64url(utf8(JSON.stringify({ v: 1, r: inv.relay, s: b64url(inv.secret), e: inv.expiresAt, d: inv.inviter })));
}

export function parseInvitation(text: string, nowMs: number): { ok: true; invitation: Invitation } | PairingRefusal {
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(unb64url(text)));
  } catch {
    return refuse('pairing_invalid', 'This pairing link is incomplete or damaged. Ask for a new one on the other device.');
  }
  const o = raw as { v?: unknown; r?: unknown; s?: unknown; e?: unknown; d?: unknown };
  const secret = typeof o.s === 'string' ? safeBytes(o.s) : null;
  if (o.v !== 1 || typeof o.r !== 'string' || !/^wss?:\/\//.test(o.r) || secret?.length !== 32 || typeof o.e !== 'number' || typeof o.d !== 'string') {
    return refuse('pairing_invalid', 'This pairing link is incomplete or damaged. Ask for a new one on the other device.');
  }
  if (o.e <= nowMs) return refuse('pairing_expired', 'This pairing link has expired (links last 5 minutes). Make a new one on the other device.');
  return { ok: true, invitation: { relay: o.r, secret, expiresAt: o.e, inviter: o.d } };
}

/** The room both devices meet in (derived from the one-time secret like a workspace room). */
export function pairingRoom(inv: Invitation): Promise<Room> {
  return deriveRoom(inv.secret);
}

interface Hello extends Party { readonly ecdh: string }

/** The code both screens show: six digits from SHA-256 over the secret, the hello and the offer. */
export async function confirmationCode(inv: Invitation, hello: Hello, offer: Hello): Promise<string> {
  const text = [PAIR_DOMAIN, bytesToHex(inv.secret), hello.device, hello.ecdh, offer.device, offer.ecdh].join('\n');
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8(text)));
  const n = ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
  return String(n % 1_000_000).padStart(6, '0');
}

/** Seal `value` for `name` with an AES-GCM key (random IV; the name is associated data). */
function seal(key: CryptoKey, name: string, value: unknown): Promise<Uint8Array> {
  return sealBytes(key, utf8(name), utf8(JSON.stringify(value)));
}

async function open<T>(key: CryptoKey, name: string, sealed: Uint8Array): Promise<T | null> {
  const plain = await openBytes(key, utf8(name), sealed);
  if (!plain) return null;
  try {
    return JSON.parse(new TextDecoder().decode(plain)) as T;
  } catch {
    return null;
  }
}

/** The AES key only the two ECDH key holders can compute. */
function sharedKey(own: CryptoKeyPair, otherRaw: Uint8Array): Promise<CryptoKey> {
  return ecdhAesKey(own.privateKey, otherRaw, PAIR_DOMAIN, 'welcome');
}

const tampered = () => refuse('pairing_tampered', 'A pairing message did not open: it was changed on the way, or comes from another pairing. Start again with a new link.');

/** The inviting side. `confirm` resolves true when its person confirmed the code shown. */
export async function invite(inv: Invitation, box: Mailbox, me: Party, epochs: EpochKeys,
  confirm: (code: string, joiner: Party) => Promise<boolean>, signal?: AbortSignal,
): Promise<{ ok: true; joiner: Party } | PairingRefusal | { ok: false; code: 'pairing_declined'; message: string }> {
  const room = await pairingRoom(inv);
  const hello = await open<Hello>(room.chunkKeys.aes, 'hello', await box.wait('hello', signal));
  if (!hello) return tampered();
  const ecdh = await p256Pair();
  const offer: Hello = { ...me, ecdh: b64url(ecdh.publicRaw) };
  box.set('offer', await seal(room.chunkKeys.aes, 'offer', offer));
  const code = await confirmationCode(inv, hello, offer);
  const joiner = { device: hello.device, name: hello.name };
  if (!(await confirm(code, joiner))) return { ok: false, code: 'pairing_declined', message: 'Pairing was cancelled on this device; nothing was shared.' };
  const key = await sharedKey(ecdh.pair, unb64url(hello.ecdh));
  const current = epochs[epochs.length - 1];
  if (!current) throw new TypeError('invite: no epoch key to share');
  const welcome: Welcome = { epochKey: b64url(current.key), relay: inv.relay, epoch: current.epoch, older: epochs.slice(0, -1).map((e) => ({ epoch: e.epoch, key: b64url(e.key) })) };
  box.set('welcome', await seal(key, 'welcome', welcome));
  const joined = await open<{ device: string }>(room.chunkKeys.aes, 'joined', await box.wait('joined', signal));
  if (!joined || joined.device !== hello.device) return tampered();
  return { ok: true, joiner };
}

/** The epoch keys a device holds, oldest first (the last is the current one). */
export type EpochKeys = readonly { readonly epoch: number; readonly key: Uint8Array }[];

interface Welcome {
  readonly epochKey: string;
  readonly relay: string;
  /** The current epoch's number (1 when absent) and the keys of earlier epochs (shared secrets sealed to them). */
  readonly epoch?: number;
  readonly older?: readonly { readonly epoch: number; readonly key: string }[];
}

/** The joining side: gets the workspace's epoch keys once its person confirmed the code. */
export async function join(inv: Invitation, box: Mailbox, me: Party,
  confirm: (code: string, inviter: Party) => Promise<boolean>, signal?: AbortSignal,
): Promise<{ ok: true; epochKey: Uint8Array; epochs: EpochKeys; relay: string; inviter: Party } | PairingRefusal | { ok: false; code: 'pairing_declined'; message: string }> {
  const room = await pairingRoom(inv);
  const ecdh = await p256Pair();
  const hello: Hello = { ...me, ecdh: b64url(ecdh.publicRaw) };
  box.set('hello', await seal(room.chunkKeys.aes, 'hello', hello));
  const offer = await open<Hello>(room.chunkKeys.aes, 'offer', await box.wait('offer', signal));
  if (!offer) return tampered();
  const inviter = { device: offer.device, name: offer.name };
  if (!(await confirm(await confirmationCode(inv, hello, offer), inviter))) return { ok: false, code: 'pairing_declined', message: 'Pairing was cancelled on this device; nothing was shared.' };
  const welcome = await open<Welcome>(await sharedKey(ecdh.pair, unb64url(offer.ecdh)), 'welcome', await box.wait('welcome', signal));
  const epochKey = welcome ? safeBytes(welcome.epochKey) : null;
  if (!welcome || epochKey?.length !== 32) return tampered();
  const older = (welcome.older ?? []).map((e) => ({ epoch: e.epoch, key: safeBytes(e.key) }));
  if (older.some((e) => e.key?.length !== 32 || !Number.isSafeInteger(e.epoch))) return tampered();
  const epochs = [...older as { epoch: number; key: Uint8Array }[], { epoch: welcome.epoch ?? 1, key: epochKey }];
  box.set('joined', await seal(room.chunkKeys.aes, 'joined', { device: me.device }));
  return { ok: true, epochKey, epochs, relay: welcome.relay, inviter };
}

function refuse(code: PairingRefusal['code'], message: string): PairingRefusal {
  return { ok: false, code, message };
}

function safeBytes(text: string): Uint8Array | null {
  try {
    return unb64url(text);
  } catch {
    return null;
  }
}

/** A Mailbox over the pairing room's Y.Map (both devices hold a copy of the room's document). */
export function mapMailbox(map: Y.Map<Uint8Array>): Mailbox {
  return {
    get: (name) => map.get(name),
    set: (name, value) => map.set(name, value),
    wait: (name, signal) => new Promise<Uint8Array>((resolve, reject) => {
      const there = map.get(name);
      if (there) return resolve(there);
      const watch = (e: Y.YMapEvent<Uint8Array>) => {
        const v = e.keysChanged.has(name) ? map.get(name) : undefined;
        if (!v) return;
        map.unobserve(watch);
        resolve(v);
      };
      map.observe(watch);
      signal?.addEventListener('abort', () => {
        map.unobserve(watch);
        reject(signal.reason);
      }, { once: true });
    }),
  };
}

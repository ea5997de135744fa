/**
 * Registering a realm, trust on first use made explicit: the realm's root file (its Ed25519 keys)
 * is pasted or fetched from `<url>/realm-root.json`, read here, and its keys are shown for the
 * person to confirm before `realm.register` pins them. The kernel checks the root again (its
 * schema is the authority); this only reads it well enough to show it and to say, in words, what
 * is wrong with a file that is not one.
 *
 * Invariants:
 * 1. `readRoot` is pure and never throws: a root, or a sentence saying what to fix.
 * 2. A key id that is not the first 16 hex digits of the SHA-256 of its public key is a problem
 *    (`checkKeyIds`, async: Web Crypto), so the ids a person compares are the real fingerprints.
 */
import type { RealmRootView } from './types.ts';

export const ROOT_FILE = 'realm-root.json';
const ROOT_FORMAT = 'kingdom.realm-root/1';

export type RootRead = { ok: true; root: RealmRootView; json: unknown } | { ok: false; problem: string };

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Read a root file's text (invariant 1). */
export function readRoot(text: string): RootRead {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'This is not JSON. Paste the whole realm-root.json file, or fetch it from the realm’s address.' };
  }
  if (!isObj(json)) return { ok: false, problem: 'A realm root file is a JSON object with format, realm, keys and threshold.' };
  if (json['format'] !== ROOT_FORMAT) return { ok: false, problem: `This is not a realm root file (its format should be “${ROOT_FORMAT}”). Check that you fetched realm-root.json.` };
  const realm = json['realm'];
  if (typeof realm !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/.test(realm)) return { ok: false, problem: 'The root file’s realm name is missing or not lowercase letters, digits and dashes.' };
  const keys = json['keys'];
  if (!Array.isArray(keys) || keys.length === 0 || keys.length > 8) return { ok: false, problem: 'The root file must list between one and eight signing keys.' };
  const out: { keyId: string; publicKey: string; algorithm: string }[] = [];
  for (const k of keys) {
    if (!isObj(k) || typeof k['keyId'] !== 'string' || !/^[0-9a-f]{16}$/.test(k['keyId']) || typeof k['publicKey'] !== 'string' || !/^[0-9a-f]{64}$/.test(k['publicKey'])) {
      return { ok: false, problem: 'A key in the root file is not an Ed25519 key (keyId: 16 hex digits, publicKey: 64 hex digits).' };
    }
    out.push({ keyId: k['keyId'], publicKey: k['publicKey'], algorithm: typeof k['algorithm'] === 'string' ? k['algorithm'] : 'Ed25519' });
  }
  const threshold = json['threshold'] === undefined ? 1 : json['threshold'];
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1 || threshold > out.length) {
    return { ok: false, problem: `The root file’s threshold must be a whole number from 1 to ${out.length} (how many keys must sign).` };
  }
  return { ok: true, root: { realm, keys: out, threshold }, json };
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

/** Keys whose id is not their fingerprint (invariant 2); empty when all are right. */
export async function checkKeyIds(root: RealmRootView): Promise<string[]> {
  const bad: string[] = [];
  for (const k of root.keys) {
    const raw = new Uint8Array(k.publicKey.match(/../g)!.map((h) => parseInt(h, 16)));
    const id = hex(await crypto.subtle.digest('SHA-256', raw)).slice(0, 16);
    if (id !== k.keyId) bad.push(k.keyId);
  }
  return bad;
}

/** The root file's address under a realm's base URL. */
export function rootUrl(base: string): string {
  return `${base.replace(/\/+$/, '')}/${ROOT_FILE}`;
}

/** A realm's base URL as typed, checked: http(s) only, no query or fragment. */
export function checkRealmUrl(text: string): { ok: true; url: string } | { ok: false; problem: string } {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return { ok: false, problem: 'Type the realm’s address, e.g. https://realm.example.com/team.' };
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return { ok: false, problem: 'A realm is served over https (or http on this computer).' };
  if (u.search || u.hash) return { ok: false, problem: 'A realm’s address has no ?query or #fragment: give the folder its files are served from.' };
  return { ok: true, url: u.href.replace(/\/+$/, '') };
}

/** Fetch `<url>/realm-root.json` and read it; a failure is a sentence. */
export async function fetchRoot(base: string, fetchImpl: typeof fetch = fetch): Promise<RootRead & { text?: string }> {
  let res: Response;
  try {
    res = await fetchImpl(rootUrl(base), { cache: 'no-store' });
  } catch {
    return { ok: false, problem: `The realm could not be reached at ${rootUrl(base)}. Check the address and your connection, or paste the root file instead.` };
  }
  if (!res.ok) return { ok: false, problem: `The realm answered ${res.status} for ${rootUrl(base)}. Check the address, or paste the root file instead.` };
  const text = (await res.text()).slice(0, 64 * 1024);
  return { ...readRoot(text), text };
}

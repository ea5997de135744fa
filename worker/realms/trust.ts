/**
 * Deciding whether a realm's index can be trusted — smaller than TUF, covering the attacks TUF
 * names (docs/realms.md, "Trust"):
 *
 * - arbitrary content: the index is one DSSE envelope signed by `threshold` of the root's keys
 *   over the whole payload (one signature for everything: files of different releases cannot be
 *   mixed); packs are named by SHA-256 and their size is declared (pack.ts);
 * - rollback: the index version only goes up; the same version with other content is refused too;
 * - freeze: an index past its `expiresAt` is refused, judged against the later of the clock and
 *   the latest issue time ever seen (a clock set back does not revive a stale index);
 * - re-pointed versions (the tj-actions/changed-files compromise): an index that maps a
 *   `name@version` seen before to other bytes is refused as a security incident;
 * - publisher key change: a kata's publisher key is pinned at first sight and changes only with a
 *   rotation note signed by the key it replaces (chains of notes are followed);
 * - look-alike names: names that collide after normalisation (names.ts) are refused in one index
 *   and flagged against names seen before.
 *
 * `TrustState` is what a client keeps where pack content cannot reach it (the kernel's log:
 * events only the kernel writes after a check, synced between a person's devices).
 *
 * Invariants:
 * 1. Pure apart from signature checks: the same root, envelope, state and time give the same
 *    answer; nothing is written here.
 * 2. Every refusal is typed (`RefusalCode`) with a sentence for a person and the details.
 * 3. On success, `state` is returned grown (never shrunk): highest version, latest issue time,
 *    every `name@version → sha256`, every pinned publisher key.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { entryKey, envelopeSchema, indexSchema, MAX_INDEX_BYTES, rootSchema, type RealmIndex, type RealmRoot } from './format.ts';
import { collisions, skeleton } from './names.ts';
import { base64Decode, rotationMessage, validSigners, verifyBytes } from './signing.ts';

export interface TrustState {
  readonly highestVersion: number;
  /** SHA-256 of the payload accepted at `highestVersion`. */
  readonly highestDigest: string | null;
  /** The latest `issuedAt` of any accepted index (ms since epoch), the freeze clock's floor. */
  readonly latestIssuedMs: number;
  /** Every `name@version → sha256` ever accepted. */
  readonly seen: ReadonlyMap<string, string>;
  /** Each kata's pinned publisher key. */
  readonly publishers: ReadonlyMap<string, string>;
}

export const EMPTY_TRUST: TrustState = { highestVersion: 0, highestDigest: null, latestIssuedMs: 0, seen: new Map(), publishers: new Map() };

export type RefusalCode = 'malformed' | 'bad_signature' | 'wrong_realm' | 'rollback' | 'expired' | 'repointed' | 'key_changed' | 'name_collision';

export interface Refusal {
  readonly code: RefusalCode;
  readonly message: string;
  /** A refusal that means someone is attacking (shown as a security incident, audited). */
  readonly incident: boolean;
  readonly details: Readonly<Record<string, unknown>>;
}

export type Accepted = {
  readonly ok: true;
  readonly index: RealmIndex;
  readonly digest: string;
  readonly state: TrustState;
  /** Names in this index that look like a name seen before under another spelling. */
  readonly lookalikes: readonly { readonly name: string; readonly like: string }[];
};

const refuse = (code: RefusalCode, message: string, details: Record<string, unknown> = {}, incident = false): { ok: false; refusal: Refusal } =>
  ({ ok: false, refusal: { code, message, incident, details } });

/** Reads a realm root file (JSON text or parsed); a typed refusal when it is not one. */
export function parseRoot(input: unknown): { ok: true; root: RealmRoot } | { ok: false; refusal: Refusal } {
  const parsed = rootSchema.safeParse(input);
  if (!parsed.success) return refuse('malformed', `The realm's root file is not valid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}.`, { issues: parsed.error.issues.slice(0, 5) });
  return { ok: true, root: parsed.data };
}

/** Checks an index envelope against the root and what was seen before (see the file header). */
export async function acceptIndex(root: RealmRoot, envelopeInput: unknown, state: TrustState, nowMs: number): Promise<Accepted | { ok: false; refusal: Refusal }> {
  const env = envelopeSchema.safeParse(envelopeInput);
  if (!env.success) return refuse('malformed', `The realm's index is not a signed index file: ${env.error.issues[0]?.message ?? 'unknown problem'}.`);
  const payload = base64Decode(env.data.payload);
  if (payload === null || payload.length > MAX_INDEX_BYTES) return refuse('malformed', 'The realm\'s index payload is not valid base64 or is too large.');

  // Signatures before anything in the payload is believed (or even parsed as JSON).
  const signers = await validSigners(root, env.data, payload);
  if (signers.length < root.threshold) {
    return refuse('bad_signature', `The realm's index is not signed by its keys (${signers.length} of ${root.threshold} required signatures verify). Nothing was changed.`, { signers }, true);
  }

  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return refuse('malformed', 'The realm\'s signed index is not JSON.');
  }
  const parsed = indexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return refuse('malformed', `The realm's signed index is not valid at ${issue?.path.join('.') || 'the top'}: ${issue?.message ?? 'unknown problem'}.`, { issues: parsed.error.issues.slice(0, 5) });
  }
  const index = parsed.data;
  if (index.realm !== root.realm) return refuse('wrong_realm', `This index belongs to realm "${index.realm}", not "${root.realm}".`, { realm: index.realm }, true);

  const digest = bytesToHex(sha256(payload));
  if (index.version < state.highestVersion || (index.version === state.highestVersion && digest !== state.highestDigest)) {
    return refuse('rollback', `The realm offered index version ${index.version}, but version ${state.highestVersion} was already seen: an older or altered index (a rollback). Nothing was changed.`, { offered: index.version, highest: state.highestVersion }, true);
  }

  const issuedMs = Date.parse(index.issuedAt);
  const judgedAt = Math.max(nowMs, state.latestIssuedMs);
  if (Date.parse(index.expiresAt) <= judgedAt) {
    return refuse('expired', `The realm's index expired on ${index.expiresAt}; the realm has not published a fresh one (a frozen index is refused). Try again later or ask the realm's owner.`, { expiresAt: index.expiresAt, judgedAt: new Date(judgedAt).toISOString() }, false);
  }

  const within = collisions(new Set(index.katas.map((k) => k.name)));
  if (within.length > 0) {
    const [a, b] = within[0]!;
    return refuse('name_collision', `The index lists "${a}" and "${b}", names that look alike; it is refused.`, { pairs: within.slice(0, 10) }, true);
  }

  const seen = new Map(state.seen);
  const publishers = new Map(state.publishers);
  for (const entry of index.katas) {
    const key = entryKey(entry);
    const before = seen.get(key);
    if (before !== undefined && before !== entry.sha256) {
      return refuse('repointed', `Security incident: the realm now maps ${key} to different bytes (${entry.sha256.slice(0, 12)}…, was ${before.slice(0, 12)}…). A published version must never change; the index is refused and nothing was installed.`, { kata: key, was: before, now: entry.sha256 }, true);
    }
    seen.set(key, entry.sha256);
  }
  for (const entry of index.katas) {
    const pinned = publishers.get(entry.name);
    if (pinned === undefined) {
      publishers.set(entry.name, entry.publisherKey);
      continue;
    }
    if (pinned === entry.publisherKey) continue;
    const rotated = await followRotations(index, entry.name, pinned, entry.publisherKey);
    if (!rotated) {
      return refuse('key_changed', `The publisher key of "${entry.name}" changed without a rotation note signed by the previous key; the index is refused.`, { kata: entry.name, pinned, offered: entry.publisherKey }, true);
    }
    publishers.set(entry.name, entry.publisherKey);
  }

  const known = new Map<string, string>();
  for (const name of state.publishers.keys()) known.set(skeleton(name), name);
  const lookalikes = index.katas
    .filter((k) => { const like = known.get(skeleton(k.name)); return like !== undefined && like !== k.name; })
    .map((k) => ({ name: k.name, like: known.get(skeleton(k.name))! }));

  return {
    ok: true,
    index,
    digest,
    lookalikes,
    state: { highestVersion: index.version, highestDigest: digest, latestIssuedMs: Math.max(state.latestIssuedMs, issuedMs), seen, publishers },
  };
}

/** True when signed notes lead from `from` to `to` for `kata` (each signed by the key it replaces). */
async function followRotations(index: RealmIndex, kata: string, from: string, to: string): Promise<boolean> {
  let current = from;
  const visited = new Set<string>([current]);
  for (let hop = 0; hop < 16 && current !== to; hop++) {
    // Several notes may claim to start at this key; only one signed by it counts.
    let next: string | null = null;
    for (const note of index.rotations) {
      if (note.kata !== kata || note.from !== current || visited.has(note.to)) continue;
      if (await verifyBytes(note.from, note.sig, rotationMessage(kata, note.from, note.to))) {
        next = note.to;
        break;
      }
    }
    if (next === null) return false;
    visited.add(next);
    current = next;
  }
  return current === to;
}

/**
 * Realm registration and index commands (docs/realms.md, "The contract"): register / enable /
 * disable / remove / refresh a realm, and the realm service's verdicts on an index it fetched.
 *
 * `realm.index.accept` is issued by the realm service (worker/services/realm-service.ts) only after the
 * signature checks (async WebCrypto, outside the kernel). Its decision re-checks what it can
 * synchronously against the trust state folded from the log (state.ts readTrust): the version
 * only goes up (the same version only with the same bytes), no `name@version` is re-pointed, the
 * index has not expired against the later of the clock and the latest issue time seen. A failed
 * re-check throws `realm_refused` (nothing appended); the service then records the refusal.
 *
 * Invariants:
 * 1. Realm events are not workspace-scoped: a workspace file never carries a pinned root or trust.
 * 2. Registration pins the root as given; nothing but a new registration (after a removal) changes it.
 */
import { z } from 'zod';
import { defineCommands, type Decision, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { entrySchema, realmName, rootSchema, sha256Hex } from '../../realms/format.ts';
import { readRealm, readTrust, type RealmRow, type TrustJson } from './state.ts';

const isoTime = z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');

export const realmStream = (id: string): string => `realm:${id}`;

const idField = realmName;
export const registerSchema = z.strictObject({
  id: idField,
  kind: z.enum(['local', 'central', 'custom']),
  url: z.string().max(2000).regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL, the base the realm files are served under'),
  root: rootSchema,
  title: z.string().min(1).max(200).optional(),
});
const idOnly = z.strictObject({ id: idField });

export const acceptSchema = z.strictObject({
  id: idField,
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  digest: sha256Hex,
  issuedAt: isoTime,
  expiresAt: isoTime,
  title: z.string().max(200).optional(),
  katas: z.array(entrySchema).max(10_000),
  lookalikes: z.array(z.strictObject({ name: z.string().max(300), like: z.string().max(300) })).max(1000).default([]),
});
export const refuseSchema = z.strictObject({
  id: idField,
  code: z.string().min(1).max(60),
  message: z.string().min(1).max(2000),
  incident: z.boolean(),
  details: z.record(z.string(), z.unknown()).default({}),
});
type Register = z.infer<typeof registerSchema>;
type Accept = z.infer<typeof acceptSchema>;
type Refuse = z.infer<typeof refuseSchema>;

function existing(row: RealmRow | undefined, id: string): RealmRow {
  if (!row || row.removed) throw new KernelError('not_found', `There is no realm "${id}"; register it first.`, { id });
  return row;
}

const one = (id: string, type: string, payload: Json, value: Json = { id }): Decision => ({ events: [{ stream: realmStream(id), type, payload }], value });

/** The synchronous re-check of an index the service verified (see the file header). */
export function recheckIndex(trust: TrustJson, p: Pick<Accept, 'version' | 'digest' | 'expiresAt' | 'katas'>, nowMs: number): { same: boolean } {
  const refused = (code: string, message: string, details: Record<string, Json> = {}) => new KernelError('realm_refused', message, { code, ...details });
  if (p.version < trust.highestVersion || (p.version === trust.highestVersion && p.digest !== trust.highestDigest)) {
    throw refused('rollback', `The realm offered index version ${p.version}, but version ${trust.highestVersion} was already seen: an older or altered index (a rollback).`, { offered: p.version, highest: trust.highestVersion });
  }
  const judgedAt = Math.max(nowMs, trust.latestIssuedMs);
  if (!(Date.parse(p.expiresAt) > judgedAt)) {
    throw refused('expired', `The realm's index expired on ${p.expiresAt}; a frozen index is refused.`, { expiresAt: p.expiresAt, judgedAt: new Date(judgedAt).toISOString() });
  }
  const seen = new Map(trust.seen);
  for (const k of p.katas) {
    const key = `${k.name}@${k.version}`;
    const before = seen.get(key);
    if (before !== undefined && before !== k.sha256) {
      throw refused('repointed', `Security incident: the realm now maps ${key} to different bytes (${k.sha256.slice(0, 12)}…, was ${before.slice(0, 12)}…).`, { kata: key, was: before, now: k.sha256 });
    }
  }
  return { same: p.version === trust.highestVersion };
}

export const realmCommands = defineCommands([
  {
    type: 'realm.register',
    concurrent: 'Two registrations of one id: the later in merge order is the pinned root.',
    description: "Register a realm: its id, kind, base URL and root file (the keys and threshold pinned now). The realm service refreshes it at once.",
    schema: registerSchema, mutates: true, audit: 'realm.register',
    load: (r: Reader, p: Register) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: Register) => {
      if (row && !row.removed) throw new KernelError('already_exists', `A realm "${p.id}" is already registered; remove it first to pin another root.`, { id: p.id });
      return one(p.id, 'realm.registered', { id: p.id, kind: p.kind, url: p.url.replace(/\/+$/, ''), root: p.root as unknown as Json, ...(p.title ? { title: p.title } : {}) });
    },
  },
  {
    type: 'realm.enable',
    concurrent: 'The later in merge order of an enable and a disable wins.',
    description: 'Enable a realm: refreshed by the realm service, its katas discovered.',
    schema: idOnly, mutates: true,
    load: (r: Reader, p: { id: string }) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: { id: string }) => existing(row, p.id).enabled ? { events: [], value: { id: p.id } } : one(p.id, 'realm.enabled', { id: p.id }),
  },
  {
    type: 'realm.disable',
    concurrent: 'The later in merge order of an enable and a disable wins.',
    description: 'Disable a realm: not refreshed, its katas not discovered (its trust state is kept).',
    schema: idOnly, mutates: true,
    load: (r: Reader, p: { id: string }) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: { id: string }) => existing(row, p.id).enabled ? one(p.id, 'realm.disabled', { id: p.id }) : { events: [], value: { id: p.id } },
  },
  {
    type: 'realm.remove',
    concurrent: 'A registration merged after a removal brings the realm back.',
    description: "Remove a realm from the lists. Its trust state (versions and hashes seen) is kept: re-registering the id cannot roll back or re-point.",
    schema: idOnly, mutates: true, audit: 'realm.remove',
    load: (r: Reader, p: { id: string }) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: { id: string }) => { existing(row, p.id); return one(p.id, 'realm.removed', { id: p.id }); },
  },
  {
    type: 'realm.refresh',
    concurrent: 'Each device refreshes on its own; the trust checks judge each index against everything seen on every device.',
    description: "Ask the realm service to fetch the realm's index now, verify it and record the verdict (realm.list shows refreshing until it does).",
    schema: idOnly, mutates: true,
    load: (r: Reader, p: { id: string }) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: { id: string }) => {
      if (!existing(row, p.id).enabled) throw new KernelError('invalid_state', `The realm "${p.id}" is disabled; enable it to refresh it.`, { id: p.id });
      return one(p.id, 'realm.refresh_requested', { id: p.id }, { id: p.id, requested: true });
    },
  },
  {
    type: 'realm.index.accept',
    internal: true,
    concurrent: "Two devices accepting the same version with different bytes is a split view (realm.incidents); the projection keeps both and the first in merge order is the realm's current index.",
    description: "Record an index the realm service verified (signatures, realm, freshness, versions): re-checked here against the trust state in the log.",
    schema: acceptSchema, mutates: true,
    load: (r: Reader, p: Accept) => ({ realm: readRealm(r, p.id), trust: readTrust(r, p.id) }),
    decide: (st: { realm: RealmRow | undefined; trust: TrustJson }, p: Accept, ctx) => {
      existing(st.realm, p.id);
      const { same } = recheckIndex(st.trust, p, ctx.nowMs);
      const head = { id: p.id, version: p.version, digest: p.digest, issuedAt: p.issuedAt, expiresAt: p.expiresAt };
      if (same) return one(p.id, 'realm.index_confirmed', head, { id: p.id, version: p.version, unchanged: true });
      return one(p.id, 'realm.index_accepted', { ...head, ...(p.title ? { title: p.title } : {}), katas: p.katas as unknown as Json, lookalikes: p.lookalikes },
        { id: p.id, version: p.version, unchanged: false, katas: p.katas.length });
    },
  },
  {
    type: 'realm.index.refuse',
    internal: true,
    concurrent: 'Each refusal is its own record.',
    description: 'Record that a fetched index was refused (code, sentence, whether it is a security incident); audited.',
    schema: refuseSchema, mutates: true, audit: 'realm.index.refuse',
    load: (r: Reader, p: Refuse) => readRealm(r, p.id),
    decide: (row: RealmRow | undefined, p: Refuse) => {
      existing(row, p.id);
      return one(p.id, 'realm.index_refused', { id: p.id, code: p.code, message: p.message, incident: p.incident, details: p.details as Json });
    },
  },
]);

export const realmEvents = [
  { type: 'realm.registered', version: 1, description: 'A realm was registered with its pinned root (keys and threshold).', schema: z.strictObject({ id: z.string(), kind: z.string(), url: z.string(), root: rootSchema, title: z.string().optional() }) },
  { type: 'realm.enabled', version: 1, description: 'A realm was enabled.', schema: idOnly },
  { type: 'realm.disabled', version: 1, description: 'A realm was disabled.', schema: idOnly },
  { type: 'realm.removed', version: 1, description: 'A realm was removed from the lists (its trust state is kept).', schema: idOnly },
  { type: 'realm.refresh_requested', version: 1, description: 'A person asked for a realm to be refreshed (the realm service of the device that asked fetches it).', schema: idOnly },
  {
    type: 'realm.index_accepted', version: 1,
    concurrent: 'Two devices accepting one version with different bytes is a split view, shown by realm.incidents.',
    description: 'A verified index was accepted: its version, issue and expiry time, payload SHA-256 and every entry (name@version → sha256, publisher key, …).',
    schema: acceptSchema,
  },
  { type: 'realm.index_confirmed', version: 1, description: 'A refresh found the index already accepted (same version, same bytes).', schema: z.strictObject({ id: z.string(), version: z.number(), digest: z.string(), issuedAt: z.string(), expiresAt: z.string() }) },
  { type: 'realm.index_refused', version: 1, description: 'A fetched index was refused: the code, the sentence, whether it is a security incident.', schema: refuseSchema },
] as const;

/**
 * The realms domain's queries (docs/realms.md, "The contract"): realms, discovery with
 * compatibility, what a workspace has, install requests and receipts, security incidents, the
 * trust state the realm service judges against, and a kata exported as a pack.
 *
 * Invariant: pure reads of the domain's own tables and the readers other slices export.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import { workflowCode } from '../../workflow/code.ts';
import { realmCode } from '../../realms/code.ts';
import { readManifestRows, readRegistry } from '../manifests/state.ts';
import { readLibraryWorkflows } from '../sessions/workflow-source.ts';
import { workspaceField, workspaceIdSchema } from '../workspaces/scope.ts';
import { presentOf } from './install.ts';
import { readInstalled, readInstalls, readLatestIndex, readRealm, readRealms, readTrust, type Entry } from './state.ts';

const katasSchema = z.strictObject({
  workspaceId: workspaceField,
  query: z.string().max(200).optional(),
  tags: z.array(z.string().max(40)).max(20).optional(),
  complexity: z.enum(['simple', 'moderate', 'complex']).optional(),
  skills: z.array(z.string().max(200)).max(20).optional(),
  realm: z.string().max(64).optional(),
});

function katas(r: Reader, p: z.output<typeof katasSchema>) {
  const code = realmCode.get();
  const present = presentOf(r, p.workspaceId);
  const installed = new Map(readInstalled(r, p.workspaceId).map((i) => [i.name, i]));
  const q = p.query?.trim().toLowerCase() ?? '';
  const out = [];
  for (const realm of readRealms(r)) {
    if (!realm.enabled || (p.realm !== undefined && realm.id !== p.realm)) continue;
    const index = readLatestIndex(r, realm.id);
    if (!index) continue;
    const byName = new Map<string, Entry[]>();
    for (const e of index.entries) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    for (const [name, all] of byName) {
      const versions = [...all].sort((a, b) => code.rcompare(a.version, b.version));
      const newest = versions[0]!;
      const text = `${name} ${newest.description} ${newest.tags.join(' ')}`.toLowerCase();
      if (q !== '' && !q.split(/\s+/).every((w) => text.includes(w))) continue;
      if (p.tags && !p.tags.every((t) => versions.some((v) => v.tags.includes(t)))) continue;
      if (p.complexity && !versions.some((v) => v.complexity === p.complexity)) continue;
      if (p.skills && !p.skills.every((s) => versions.some((v) => v.requires.skills.includes(s)))) continue;
      const inst = installed.get(name);
      out.push({
        realm: realm.id, name, description: newest.description, tags: newest.tags, complexity: newest.complexity,
        installed: inst ? { version: inst.version, realm: inst.realm } : null,
        versions: versions.map((v) => {
          const c = code.compatibility({ kingdom: v.kingdom, runners: v.requires.runners, skills: v.requires.skills }, present);
          return {
            version: v.version, sha256: v.sha256, size: v.size, publisherKey: v.publisherKey, kingdom: v.kingdom, requires: v.requires,
            capabilities: v.capabilities, deprecated: v.deprecated, compatible: c.compatible, why: c.why.map((w) => w.message), whyCodes: c.why.map((w) => w.code),
          };
        }),
      });
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.realm < b.realm ? -1 : 1));
}

function incidents(r: Reader) {
  const refused = r.all('SELECT realm, code, message, device, at, details FROM realm_refusals WHERE incident = 1 ORDER BY at, event_id')
    .map((x) => ({ kind: 'refused', realm: String(x['realm']), code: String(x['code']), message: String(x['message']), devices: [String(x['device'])], at: String(x['at']), details: JSON.parse(String(x['details'])) as Json }));
  const split = r.all(`SELECT realm, version, group_concat(DISTINCT digest) AS digests, group_concat(DISTINCT device) AS devices, max(accepted_at) AS at
      FROM realm_indexes GROUP BY realm, version HAVING count(DISTINCT digest) > 1 ORDER BY realm, version`)
    .map((x) => ({
      kind: 'split_view', realm: String(x['realm']), code: 'split_view', at: String(x['at']), devices: String(x['devices']).split(','),
      message: `Security incident: devices were served different bytes for index version ${x['version']} of realm "${x['realm']}" (the host shows different content to different devices).`,
      details: { version: Number(x['version']), digests: String(x['digests']).split(',') },
    }));
  const repointed = r.all(`SELECT realm, key, group_concat(sha256) AS hashes, group_concat(DISTINCT device) AS devices FROM realm_seen
      GROUP BY realm, key HAVING count(*) > 1 ORDER BY realm, key`)
    .map((x) => ({
      kind: 'repointed', realm: String(x['realm']), code: 'repointed', at: '', devices: String(x['devices']).split(','),
      message: `Security incident: ${x['key']} of realm "${x['realm']}" was seen with different bytes on different devices (a re-pointed version).`,
      details: { kata: String(x['key']), hashes: String(x['hashes']).split(',') },
    }));
  return [...refused, ...split, ...repointed];
}

/** The installed or authored Kata of a workspace, with the manifests it needs, as a pack. */
function exportPack(r: Reader, p: { workspaceId: string; name: string; version?: string | undefined }) {
  const mc = manifestCode.get();
  const katas = readManifestRows(r, p.workspaceId, 'Kata').filter((m) => m.name === p.name && (p.version === undefined || m.version === p.version));
  if (katas.length === 0) throw new KernelError('not_found', `There is no Kata ${p.name}${p.version ? `@${p.version}` : ''} in this workspace's registry.`, { name: p.name });
  const kata = katas.reduce((a, b) => (mc.compare(b.version, a.version) > 0 ? b : a));
  const { resolution } = readRegistry(r, p.workspaceId);
  const sources = new Map<string, string>();
  for (const m of readManifestRows(r, p.workspaceId)) sources.set(mc.keyOf(m), m.source);
  for (const w of readLibraryWorkflows(r, p.workspaceId)) sources.set(`Workflow/${w.name}@${w.version}`, w.source);
  const start = mc.keyOf(kata);
  const keys = [start];
  for (let i = 0; i < keys.length; i++) {
    for (const e of resolution.edges.get(keys[i]!) ?? []) if (e.to !== null && !keys.includes(e.to)) keys.push(e.to);
  }
  const built = realmCode.get().buildPack(keys.map((k) => sources.get(k)!).filter((s) => s !== undefined));
  if (!built.ok) throw new KernelError('invalid_manifest', built.message, { name: p.name });
  const k = built.kata;
  return {
    pack: built.text, sha256: built.sha256, size: built.size, manifests: keys,
    entry: { name: k.name, version: k.version, sha256: built.sha256, size: built.size, description: k.description ?? '', tags: k.tags, complexity: k.complexity, kingdom: k.requires.kingdom, requires: { runners: k.requires.runners, skills: k.requires.skills }, capabilities: k.capabilities },
  };
}

export const realmQueries = defineQueries([
  {
    name: 'realm.list',
    description: 'Registered realms: kind, URL, pinned root, enabled, whether a refresh is pending, the accepted index head and the last refusal.',
    schema: z.strictObject({}),
    run: (r: Reader) => readRealms(r).map((x) => {
      const index = readLatestIndex(r, x.id);
      const refusal = r.get('SELECT code, message, incident, at FROM realm_refusals WHERE realm = ? ORDER BY at DESC, rowid DESC LIMIT 1', [x.id]);
      const lastRefusal = refusal && (!x.refreshDoneAt || String(refusal['at']) >= (index?.acceptedAt ?? '')) ? { code: String(refusal['code']), message: String(refusal['message']), incident: Number(refusal['incident']) === 1, at: String(refusal['at']) } : null;
      return {
        id: x.id, kind: x.kind, url: x.url, title: x.title ?? index?.title ?? null, enabled: x.enabled, root: x.root, registeredAt: x.registeredAt,
        refreshing: x.enabled && x.refreshRequestedAt !== null && (x.refreshDoneAt === null || x.refreshDoneAt < x.refreshRequestedAt),
        index: index ? { version: index.version, issuedAt: index.issuedAt, expiresAt: index.expiresAt, digest: index.digest, acceptedAt: index.acceptedAt, katas: index.entries.length } : null,
        lastRefusal,
      };
    }),
  },
  { name: 'realm.katas', description: "Katas of the enabled realms' accepted indexes (search by words, tags, complexity, required skills), every version with whether it is compatible here and why not.", schema: katasSchema, needs: [realmCode, manifestCode], run: katas },
  { name: 'realm.skills', description: 'What compatibility is judged against in a workspace: the Kingdom version, runners present (built-in and installed Tools) and skills (installed Agents, llm and llm.<kind> per configured provider).', schema: z.strictObject({ workspaceId: workspaceField }), needs: [realmCode, manifestCode], run: (r: Reader, p: { workspaceId: string }) => presentOf(r, p.workspaceId) },
  {
    name: 'realm.installs',
    description: 'Install requests (newest first), with their proposal, status, approver, reason and failure.',
    schema: z.strictObject({ workspaceId: workspaceIdSchema.optional(), status: z.enum(['proposed', 'approved', 'rejected', 'installed', 'failed']).optional() }),
    run: (r: Reader, p: { workspaceId?: string | undefined; status?: string | undefined }) => readInstalls(r, p.workspaceId ?? null, p.status),
  },
  { name: 'realm.installed', description: 'Katas installed from realms in a workspace, with their receipt.', schema: z.strictObject({ workspaceId: workspaceField }), run: (r: Reader, p: { workspaceId: string }) => readInstalled(r, p.workspaceId) },
  { name: 'realm.incidents', description: 'Security incidents: refusals flagged as incidents, and what the merged logs of several devices show (split views, versions seen with different bytes).', schema: z.strictObject({}), run: (r: Reader) => incidents(r) },
  {
    name: 'realm.trust',
    description: "A realm's pinned root, URL and trust state as the realm service judges an index against (internal).",
    schema: z.strictObject({ id: z.string().max(64) }),
    internal: true,
    run: (r: Reader, p: { id: string }) => {
      const realm = readRealm(r, p.id);
      return realm && !realm.removed ? { realm, trust: readTrust(r, p.id) } : null;
    },
  },
  {
    name: 'realm.pack.export',
    description: "A workspace's Kata (the given version or the highest) with every manifest it needs, as one pack file: its text, SHA-256, size and the index entry a publisher adds.",
    schema: z.strictObject({ workspaceId: workspaceField, name: z.string().min(1).max(300), version: z.string().max(100).optional() }),
    needs: [realmCode, manifestCode, workflowCode],
    run: exportPack,
  },
]);

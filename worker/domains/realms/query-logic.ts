/**
 * The logic of the realms domain's larger queries (queries.ts holds the definitions), loaded on
 * demand (code.ts): discovery with compatibility, security incidents, a kata exported as a pack.
 *
 * Invariant: pure reads of the domain's own tables and the readers other slices export.
 */
import type { z } from 'zod';
import type { Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import { buildPack, compatibility, rcompare } from '../../realms/kernel-code.ts';
import { readManifestRows, readRegistry } from '../manifests/state.ts';
import { readLibraryWorkflows } from '../sessions/workflow-source.ts';
import { presentOf } from './install-logic.ts';
import type { katasSchema } from './requests.ts';
import { readInstalled, readLatestIndex, readRealms, type Entry } from './state.ts';

export function katas(r: Reader, p: z.output<typeof katasSchema>) {
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
      const versions = [...all].sort((a, b) => rcompare(a.version, b.version));
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
          const c = compatibility({ kingdom: v.kingdom, runners: v.requires.runners, skills: v.requires.skills }, present);
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

export function incidents(r: Reader) {
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
export function exportPack(r: Reader, p: { workspaceId: string; name: string; version?: string | undefined }) {
  const mc = manifestCode.get();
  const katas = readManifestRows(r, p.workspaceId, 'Kata').filter((m) => m.name === p.name && (p.version === undefined || m.version === p.version));
  if (katas.length === 0) throw new KernelError('not_found', `There is no Kata ${p.name}${p.version ? `@${p.version}` : ''} in this workspace's registry.`, { name: p.name });
  const kata = katas.reduce((a, b) => (mc.compare(b.version, a.version) > 0 ? b : a));
  const { resolution } = readRegistry(r, p.workspaceId);
  const sources = new Map<string, string>();
  for (const m of readManifestRows(r, p.workspaceId)) sources.set(mc.keyOf(m), m.source);
  for (const w of readLibraryWorkflows(r, p.workspaceId)) sources.set(`Workflow/${w.name}@${w.version}`, asWorkflowManifest(w.source));
  const start = mc.keyOf(kata);
  const keys = [start];
  for (let i = 0; i < keys.length; i++) {
    for (const e of resolution.edges.get(keys[i]!) ?? []) if (e.to !== null && !keys.includes(e.to)) keys.push(e.to);
  }
  const built = buildPack(keys.map((k) => sources.get(k)!).filter((s) => s !== undefined));
  if (!built.ok) throw new KernelError('invalid_manifest', built.message, { name: p.name });
  const k = built.kata;
  return {
    pack: built.text, sha256: built.sha256, size: built.size, manifests: keys,
    entry: { name: k.name, version: k.version, sha256: built.sha256, size: built.size, description: k.description ?? '', tags: k.tags, complexity: k.complexity, kingdom: k.requires.kingdom, requires: { runners: k.requires.runners, skills: k.requires.skills }, capabilities: k.capabilities },
  };
}

/**
 * A library workflow as a pack carries it: a Workflow manifest, so a plain workflow file (no
 * top-level `kind:`) gets `kind: Workflow` as its first line (after a leading `---`, if any).
 */
export function asWorkflowManifest(source: string): string {
  if (/^kind\s*:/m.test(source)) return source;
  const marker = /^---[^\S\n]*\n/.exec(source);
  return marker ? `${marker[0]}kind: Workflow\n${source.slice(marker[0].length)}` : `kind: Workflow\n${source}`;
}

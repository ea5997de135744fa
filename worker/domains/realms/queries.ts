/**
 * The realms domain's queries (docs/realms.md, "The contract"): realms, discovery with
 * compatibility, what a workspace has, install requests and receipts, security incidents, the
 * trust state the realm service judges against, and a kata exported as a pack.
 *
 * Invariant: pure reads of the domain's own tables and the readers other slices export.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import { manifestCode } from '../../manifests/code.ts';
import { workflowCode } from '../../workflow/code.ts';
import { realmCode } from './code.ts';
import { katasSchema } from './requests.ts';
import { workspaceField, workspaceIdSchema } from '../workspaces/scope.ts';
import { readInstalled, readInstalls, readLatestIndex, readRealm, readRealms, readTrust } from './state.ts';

export const realmQueries = defineQueries([
  {
    name: 'realm.list',
    description: 'Registered realms: kind, URL, pinned root, enabled, whether a refresh is pending, the accepted index head and the last refusal.',
    schema: z.strictObject({}),
    run: (r: Reader) => readRealms(r).map((x) => {
      const index = readLatestIndex(r, x.id);
      const refusal = r.get('SELECT code, message, incident, at FROM realm_refusals WHERE realm = ? ORDER BY at DESC, rowid DESC LIMIT 1', [x.id]);
      const lastVerdict = r.value('SELECT max(accepted_at) FROM realm_indexes WHERE realm = ?', [x.id]);
      const lastRefusal = refusal && String(refusal['at']) >= String(lastVerdict ?? '') ? { code: String(refusal['code']), message: String(refusal['message']), incident: Number(refusal['incident']) === 1, at: String(refusal['at']) } : null;
      return {
        id: x.id, kind: x.kind, url: x.url, title: x.title ?? index?.title ?? null, enabled: x.enabled, root: x.root, registeredAt: x.registeredAt,
        refreshing: x.enabled && x.refreshRequestedAt !== null && (x.refreshDoneAt === null || x.refreshDoneAt < x.refreshRequestedAt),
        index: index ? { version: index.version, issuedAt: index.issuedAt, expiresAt: index.expiresAt, digest: index.digest, acceptedAt: index.acceptedAt, katas: index.entries.length } : null,
        lastRefusal,
      };
    }),
  },
  { name: 'realm.katas', description: "Katas of the enabled realms' accepted indexes (search by words, tags, complexity, required skills), every version with whether it is compatible here and why not.", schema: katasSchema, needs: [realmCode, manifestCode], run: (r: Reader, p: z.output<typeof katasSchema>) => realmCode.get().katas(r, p) },
  { name: 'realm.skills', description: 'What compatibility is judged against in a workspace: the Kingdom version, runners present (built-in and installed Tools) and skills (installed Agents, llm and llm.<kind> per configured provider).', schema: z.strictObject({ workspaceId: workspaceField }), needs: [realmCode, manifestCode], run: (r: Reader, p: { workspaceId: string }) => realmCode.get().presentOf(r, p.workspaceId) },
  {
    name: 'realm.installs',
    description: 'Install requests (newest first), with their proposal, status, approver, reason and failure.',
    schema: z.strictObject({ workspaceId: workspaceIdSchema.optional(), status: z.enum(['proposed', 'approved', 'rejected', 'installed', 'failed']).optional() }),
    run: (r: Reader, p: { workspaceId?: string | undefined; status?: string | undefined }) => readInstalls(r, p.workspaceId ?? null, p.status),
  },
  { name: 'realm.installed', description: 'Katas installed from realms in a workspace, with their receipt.', schema: z.strictObject({ workspaceId: workspaceField }), run: (r: Reader, p: { workspaceId: string }) => readInstalled(r, p.workspaceId) },
  { name: 'realm.incidents', description: 'Security incidents: refusals flagged as incidents, and what the merged logs of several devices show (split views, versions seen with different bytes).', schema: z.strictObject({}), needs: [realmCode], run: (r: Reader) => realmCode.get().incidents(r) },
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
    run: (r: Reader, p: { workspaceId: string; name: string; version?: string | undefined }) => realmCode.get().exportPack(r, p),
  },
]);

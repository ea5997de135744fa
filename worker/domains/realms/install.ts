/**
 * Gated installs of katas from realms (docs/realms.md, "Install"): request → proposal → a
 * person approves or rejects → the realm service downloads and hands the pack to
 * `realm.install.complete` → every manifest applied plus a receipt, in ONE decision; or
 * `realm.install.fail` with the reason. Uninstall removes what the install applied.
 *
 * Invariants:
 * 1. All or nothing: `realm.install.complete` checks everything before it returns a single event;
 *    any failed check throws `install_refused` (details.code) and appends nothing — the service
 *    then records `realm.install.fail` (audited).
 * 2. The pack is judged against the proposal the person approved: its SHA-256 and size are the
 *    accepted index entry's; the hosts its http Tools and steps call, the secrets they read and
 *    the Kata's own capabilities must all be declared in that entry.
 * 3. Manifests are applied through the manifests domain's own decision (decideApply, origin
 *    realm): the same events as `manifest.apply`, Workflow manifests as workflow saves.
 */
import { z } from 'zod';
import { defineCommands, type Decision, type NewEvent, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import { workflowCode } from '../../workflow/code.ts';
import { realmCode } from '../../realms/code.ts';
import { skeleton } from '../../realms/names.ts';
import { decideApply, loadApply, manifestStream, type ApplyState } from '../manifests/index.ts';
import { readManifestRows, readRegistry, type Registry } from '../manifests/state.ts';
import { readLibraryWorkflows } from '../sessions/workflow-source.ts';
import { workflowStream } from '../sessions/events.ts';
import { readProviders } from '../providers/index.ts';
import { assertActiveWorkspace, workspaceField, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { readInstall, readInstalled, readLatestIndex, readRealm, type Capabilities, type Entry, type InstallRow, type InstalledRow, type Proposal } from './state.ts';
import { KINGDOM_VERSION } from './version.ts';
import { checkPackContents, type PackCheckState } from './pack-check.ts';

/** A pack handed to the kernel at most (its text): 8 MiB. */
export const MAX_INSTALL_PACK = 8 * 1024 * 1024;
export const installStream = (requestId: string): string => `realm-install:${requestId}`;

const requestSchema = z.strictObject({ workspaceId: workspaceField, realm: z.string().min(1).max(64), name: z.string().min(1).max(300), version: z.string().min(1).max(100) });
const refSchema = z.strictObject({ requestId: z.uuid() });
const rejectSchema = z.strictObject({ requestId: z.uuid(), reason: z.string().min(1).max(2000) });
const completeSchema = z.strictObject({ requestId: z.uuid(), pack: z.string().min(1).max(MAX_INSTALL_PACK) });
const failSchema = z.strictObject({ requestId: z.uuid(), code: z.string().min(1).max(60), message: z.string().min(1).max(2000) });
const uninstallSchema = z.strictObject({ workspaceId: workspaceField, name: z.string().min(1).max(300) });
type Request = z.infer<typeof requestSchema>;

/** What compatibility is judged against in a workspace (realm.skills). */
export function presentOf(r: Reader, workspaceId: string) {
  const tools = readManifestRows(r, workspaceId, 'Tool').map((m) => m.name);
  const agents = readManifestRows(r, workspaceId, 'Agent').map((m) => m.name);
  const kinds = [...new Set(readProviders(r, workspaceId).map((p) => p.kind))].sort();
  return realmCode.get().presentIn(KINGDOM_VERSION, tools, agents, kinds);
}

const minus = (a: readonly string[], b: readonly string[]) => a.filter((x) => !b.includes(x));
export function capabilityDiff(from: Capabilities, to: Capabilities): { added: Capabilities; removed: Capabilities } {
  return {
    added: { hosts: minus(to.hosts, from.hosts), runners: minus(to.runners, from.runners), secrets: minus(to.secrets, from.secrets) },
    removed: { hosts: minus(from.hosts, to.hosts), runners: minus(from.runners, to.runners), secrets: minus(from.secrets, to.secrets) },
  };
}

interface RequestState {
  readonly workspace: WorkspaceStatus;
  readonly enabled: boolean | undefined;
  readonly index: { version: number; entry: Entry | undefined } | undefined;
  readonly installed: InstalledRow | undefined;
  readonly others: readonly string[];
  readonly proposal?: Omit<Proposal, 'upgradeFrom' | 'diff' | 'lookalike' | 'indexVersion' | 'entry'>;
}

function loadRequest(r: Reader, p: Request): RequestState {
  const realm = readRealm(r, p.realm);
  const latest = realm && !realm.removed ? readLatestIndex(r, p.realm) : undefined;
  const entry = latest?.entries.find((e) => e.name === p.name && e.version === p.version);
  const installedAll = readInstalled(r, p.workspaceId);
  const state: RequestState = {
    workspace: workspaceStatus(r, p.workspaceId),
    enabled: realm && !realm.removed ? realm.enabled : undefined,
    index: latest ? { version: latest.version, entry } : undefined,
    installed: installedAll.find((i) => i.name === p.name),
    others: installedAll.map((i) => i.name).filter((n) => n !== p.name),
  };
  if (!entry) return state;
  const c = realmCode.get().compatibility({ kingdom: entry.kingdom, runners: entry.requires.runners, skills: entry.requires.skills }, presentOf(r, p.workspaceId));
  return { ...state, proposal: { compatible: c.compatible, why: c.why } };
}

const one = (requestId: string, type: string, payload: Json, value: Json = { requestId }): Decision => ({ events: [{ stream: installStream(requestId), type, payload }], value });

function pending(row: InstallRow | undefined, requestId: string, status: InstallRow['status']): InstallRow {
  if (!row) throw new KernelError('not_found', `There is no install request ${requestId}.`, { requestId });
  if (row.status !== status) throw new KernelError('invalid_state', `The install request of ${row.name}@${row.version} is ${row.status}, not ${status}.`, { requestId, status: row.status });
  return row;
}

export const installCommands = defineCommands([
  {
    type: 'realm.install.request',
    needs: [realmCode, manifestCode],
    concurrent: 'Each request is its own proposal; two installs of one kata approved on two devices both install (the later receipt in merge order is the installed version).',
    description: "Ask to install (or upgrade to) a kata version from a realm's accepted index into a workspace: records a proposal (hashes, requirements, capabilities, compatibility, and for an upgrade the capability diff) for a person to approve or reject.",
    schema: requestSchema, mutates: true,
    load: loadRequest,
    decide: (st: RequestState, p: Request, ctx) => {
      assertActiveWorkspace(st.workspace, p.workspaceId);
      if (st.enabled === undefined) throw new KernelError('not_found', `There is no realm "${p.realm}".`, { realm: p.realm });
      if (!st.enabled) throw new KernelError('invalid_state', `The realm "${p.realm}" is disabled; enable it first.`, { realm: p.realm });
      const entry = st.index?.entry;
      if (!entry || !st.proposal) throw new KernelError('not_found', `The realm "${p.realm}" offers no ${p.name}@${p.version} in its accepted index; refresh it or pick another version.`, { realm: p.realm, name: p.name, version: p.version });
      if (st.installed?.version === p.version) throw new KernelError('invalid_state', `${p.name}@${p.version} is already installed in this workspace.`, { name: p.name, version: p.version });
      const like = st.others.find((n) => skeleton(n) === skeleton(p.name));
      const proposal: Proposal = {
        entry, indexVersion: st.index!.version, ...st.proposal,
        upgradeFrom: st.installed ? { version: st.installed.version, capabilities: st.installed.capabilities } : null,
        diff: st.installed ? capabilityDiff(st.installed.capabilities, entry.capabilities) : null,
        lookalike: like ?? null,
      };
      const requestId = ctx.newId();
      return one(requestId, 'realm.install_proposed', { requestId, workspaceId: p.workspaceId, realm: p.realm, name: p.name, version: p.version, proposal: proposal as unknown as Json }, { requestId, proposal: proposal as unknown as Json });
    },
  },
  {
    type: 'realm.install.approve',
    concurrent: 'The first in merge order of an approval and a rejection of one request decides it.',
    description: 'Approve a proposed install (the approver is recorded in the receipt); the realm service then downloads, verifies and installs it.',
    schema: refSchema, mutates: true, audit: 'realm.install.approve',
    load: (r: Reader, p: { requestId: string }) => readInstall(r, p.requestId),
    decide: (row: InstallRow | undefined, p: { requestId: string }) => { pending(row, p.requestId, 'proposed'); return one(p.requestId, 'realm.install_approved', { requestId: p.requestId }); },
  },
  {
    type: 'realm.install.reject',
    concurrent: 'The first in merge order of an approval and a rejection of one request decides it.',
    description: 'Reject a proposed install, with the reason.',
    schema: rejectSchema, mutates: true, audit: 'realm.install.reject',
    load: (r: Reader, p: { requestId: string }) => readInstall(r, p.requestId),
    decide: (row: InstallRow | undefined, p: { requestId: string; reason: string }) => { pending(row, p.requestId, 'proposed'); return one(p.requestId, 'realm.install_rejected', { requestId: p.requestId, reason: p.reason }); },
  },
  {
    type: 'realm.install.complete',
    internal: true,
    needs: [realmCode, manifestCode, workflowCode],
    concurrent: 'Each install applies its manifests as manifest.apply would; two at once: the later in merge order is the installed version.',
    description: "Install an approved request from its downloaded pack: every check, then every manifest applied (origin realm) and the receipt, all or nothing.",
    schema: completeSchema, mutates: true, audit: 'realm.install',
    load: (r: Reader, p: { requestId: string; pack: string }) => loadComplete(r, p),
    decide: (st: CompleteState, p: { requestId: string; pack: string }) => decideComplete(st, p),
  },
  {
    type: 'realm.install.fail',
    internal: true,
    concurrent: 'A request fails once; a later failure or install of the same request is refused.',
    description: 'Record that an approved install failed a check (download, size, hash, pack, hosts, compatibility); nothing was installed.',
    schema: failSchema, mutates: true, audit: 'realm.install.fail',
    load: (r: Reader, p: { requestId: string }) => readInstall(r, p.requestId),
    decide: (row: InstallRow | undefined, p: { requestId: string; code: string; message: string }) => { pending(row, p.requestId, 'approved'); return one(p.requestId, 'realm.install_failed', { requestId: p.requestId, code: p.code, message: p.message }); },
  },
  {
    type: 'realm.uninstall',
    needs: [manifestCode, workflowCode],
    concurrent: 'An install merged after an uninstall brings the kata back.',
    description: "Uninstall a kata from a workspace: remove every manifest its install applied (its Workflow archived in the library), refused (has_dependents) while other manifests need one of them. Running sessions keep the workflow they pinned.",
    schema: uninstallSchema, mutates: true, audit: 'realm.uninstall',
    load: (r: Reader, p: { workspaceId: string; name: string }) => loadUninstall(r, p),
    decide: (st: UninstallState, p: { workspaceId: string; name: string }) => decideUninstall(st, p),
  },
]);

// ---- complete ----------------------------------------------------------------------------------

interface CompleteState extends PackCheckState {
  readonly row: InstallRow | undefined;
  readonly workspace: WorkspaceStatus;
  readonly applies: readonly { source: string; state: ApplyState }[];
}

function loadComplete(r: Reader, p: { requestId: string; pack: string }): CompleteState {
  const row = readInstall(r, p.requestId);
  const empty = { row, workspace: undefined, applies: [], read: null, registry: null, present: null };
  if (!row || row.status !== 'approved') return empty;
  const code = realmCode.get();
  const sha = code.textSha256(p.pack);
  const size = new TextEncoder().encode(p.pack).length;
  const read = sha === row.proposal.entry.sha256 && size === row.proposal.entry.size ? code.readPack(p.pack) : null;
  const origin = { via: 'realm' as const, realm: row.realm };
  return {
    row, workspace: workspaceStatus(r, row.workspaceId), sha, size, read,
    applies: read?.ok ? read.pack.items.map((i) => ({ source: i.source, state: loadApply(r, { workspaceId: row.workspaceId, source: i.source, origin }) })) : [],
    registry: read?.ok ? readRegistry(r, row.workspaceId) : null,
    present: read?.ok ? presentOf(r, row.workspaceId) : null,
  };
}

function decideComplete(st: CompleteState, p: { requestId: string; pack: string }): Decision {
  const row = pending(st.row, p.requestId, 'approved');
  assertActiveWorkspace(st.workspace, row.workspaceId);
  checkPackContents(st, row);
  const events: NewEvent[] = [];
  const origin = { via: 'realm' as const, realm: row.realm };
  for (const a of st.applies) events.push(...decideApply(a.state, { workspaceId: row.workspaceId, source: a.source, origin }).events);
  const pack = st.read!.ok ? st.read!.pack : null;
  const manifests = pack!.items.map((i) => ({ kind: i.kind, name: i.name, version: i.version }));
  const receipt = {
    requestId: p.requestId, workspaceId: row.workspaceId, realm: row.realm, name: row.name, version: row.version,
    sha256: row.proposal.entry.sha256, indexVersion: row.proposal.indexVersion, approvedBy: row.approvedBy ?? 'unknown',
    manifests, capabilities: row.proposal.entry.capabilities as unknown as Json,
    ...(row.proposal.upgradeFrom ? { upgradedFrom: row.proposal.upgradeFrom.version } : {}),
  };
  events.push({ stream: installStream(p.requestId), type: 'realm.installed', payload: receipt as unknown as Json });
  return { events, value: receipt as unknown as Json };
}

// ---- uninstall ---------------------------------------------------------------------------------

interface UninstallState {
  readonly workspace: WorkspaceStatus;
  readonly installed: InstalledRow | undefined;
  readonly registry: Registry | null;
  readonly present: ReadonlySet<string>;
}

function loadUninstall(r: Reader, p: { workspaceId: string; name: string }): UninstallState {
  const installed = readInstalled(r, p.workspaceId, p.name)[0];
  const present = new Set([
    ...readManifestRows(r, p.workspaceId).map((m) => `${m.kind}/${m.name}@${m.version}`),
    ...readLibraryWorkflows(r, p.workspaceId).map((w) => `Workflow/${w.name}@${w.version}`),
  ]);
  return { workspace: workspaceStatus(r, p.workspaceId), installed, registry: installed ? readRegistry(r, p.workspaceId) : null, present };
}

function decideUninstall(st: UninstallState, p: { workspaceId: string; name: string }): Decision {
  assertActiveWorkspace(st.workspace, p.workspaceId);
  const inst = st.installed;
  if (!inst || !st.registry) throw new KernelError('not_found', `No kata ${p.name} is installed from a realm in this workspace.`, { name: p.name });
  const code = manifestCode.get();
  const gone = new Set(inst.manifests.map((m) => code.keyOf(m)));
  const without = code.resolve(st.registry.manifests.filter((m) => !gone.has(code.keyOf(m))));
  const before = new Set(st.registry.resolution.missing.map((m) => `${m.from} ${m.need.via}`));
  const breaks = [...new Set(without.missing.filter((m) => !before.has(`${m.from} ${m.need.via}`) && !gone.has(m.from)).map((m) => m.from))].sort();
  if (breaks.length > 0) {
    throw new KernelError('has_dependents', `${p.name}@${inst.version} is still needed by ${breaks.join(', ')}; remove or change ${breaks.length === 1 ? 'it' : 'them'} first.`, { breaks, dependents: breaks });
  }
  const events: NewEvent[] = [];
  for (const m of inst.manifests) {
    if (!st.present.has(code.keyOf(m))) continue;
    if (m.kind === 'Workflow') events.push({ stream: workflowStream(p.workspaceId, m.name), type: 'workflow.archived', payload: { workspaceId: p.workspaceId, name: m.name } });
    else events.push({ stream: manifestStream(p.workspaceId, m.kind, m.name), type: 'manifest.removed', payload: { workspaceId: p.workspaceId, kind: m.kind, name: m.name, version: m.version } });
  }
  const receipt = { workspaceId: p.workspaceId, name: p.name, version: inst.version, realm: inst.realm, requestId: inst.requestId, removed: inst.manifests.map((m) => code.keyOf(m)) };
  events.push({ stream: installStream(inst.requestId), type: 'realm.uninstalled', payload: receipt });
  return { events, value: receipt };
}

const capabilities = z.strictObject({ hosts: z.array(z.string()), runners: z.array(z.string()), secrets: z.array(z.string()) });
const keyList = z.array(z.strictObject({ kind: z.string(), name: z.string(), version: z.string() }));

export const installEvents = [
  { type: 'realm.install_proposed', version: 1, description: 'An install (or upgrade) of a kata version was proposed: the entry, requirements, capabilities, compatibility and the capability diff.', schema: z.strictObject({ requestId: z.string(), workspaceId: z.string(), realm: z.string(), name: z.string(), version: z.string(), proposal: z.record(z.string(), z.unknown()) }) },
  { type: 'realm.install_approved', version: 1, description: 'A person approved a proposed install (the event actor is the approver).', schema: refSchema },
  { type: 'realm.install_rejected', version: 1, description: 'A person rejected a proposed install, with the reason.', schema: rejectSchema },
  { type: 'realm.install_failed', version: 1, description: 'An approved install failed a check; nothing was installed.', schema: failSchema },
  {
    type: 'realm.installed', version: 1,
    description: 'The receipt of an install: realm, kata, version, pack SHA-256, index version, approver, the manifests applied and the capabilities granted.',
    schema: z.strictObject({ requestId: z.string(), workspaceId: z.string(), realm: z.string(), name: z.string(), version: z.string(), sha256: z.string(), indexVersion: z.number(), approvedBy: z.string(), manifests: keyList, capabilities, upgradedFrom: z.string().optional() }),
  },
  { type: 'realm.uninstalled', version: 1, description: 'A kata installed from a realm was uninstalled: the manifests removed.', schema: z.strictObject({ workspaceId: z.string(), name: z.string(), version: z.string(), realm: z.string(), requestId: z.string(), removed: z.array(z.string()) }) },
] as const;

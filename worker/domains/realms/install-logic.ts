/**
 * The logic of realm installs (install.ts holds the command definitions), loaded on demand
 * (code.ts): what a request, a completion and an uninstall load and decide. See install.ts's
 * header for the invariants (all or nothing; judged against the approved proposal; manifests
 * applied through the manifests domain's own decision).
 */
import type { Decision, NewEvent, Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import { compatibility, presentIn, readPack, textSha256 } from '../../realms/kernel-code.ts';
import { decideApply, loadApply, manifestStream, type ApplyState } from '../manifests/index.ts';
import { readManifestRows, readRegistry, type Registry } from '../manifests/state.ts';
import { readLibraryWorkflows } from '../sessions/workflow-source.ts';
import { workflowStream } from '../sessions/events.ts';
import { readProviders } from '../providers/index.ts';
import { assertActiveWorkspace, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { readInstall, readInstalled, readLatestIndex, readRealm, type Capabilities, type Entry, type InstallRow, type InstalledRow, type Proposal } from './state.ts';
import { KINGDOM_VERSION } from './version.ts';
import { checkPackContents, type PackCheckState } from './pack-check.ts';
import { installStream, pending, type Request } from './requests.ts';

/** What compatibility is judged against in a workspace (realm.skills). */
export function presentOf(r: Reader, workspaceId: string) {
  const tools = readManifestRows(r, workspaceId, 'Tool').map((m) => m.name);
  const agents = readManifestRows(r, workspaceId, 'Agent').map((m) => m.name);
  const kinds = [...new Set(readProviders(r, workspaceId).map((p) => p.kind))].sort();
  return presentIn(KINGDOM_VERSION, tools, agents, kinds);
}

const minus = (a: readonly string[], b: readonly string[]) => a.filter((x) => !b.includes(x));
export function capabilityDiff(from: Capabilities, to: Capabilities): { added: Capabilities; removed: Capabilities } {
  return {
    added: { hosts: minus(to.hosts, from.hosts), runners: minus(to.runners, from.runners), secrets: minus(to.secrets, from.secrets) },
    removed: { hosts: minus(from.hosts, to.hosts), runners: minus(from.runners, to.runners), secrets: minus(from.secrets, to.secrets) },
  };
}

export interface RequestState {
  readonly workspace: WorkspaceStatus;
  readonly enabled: boolean | undefined;
  readonly index: { version: number; entry: Entry | undefined } | undefined;
  readonly installed: InstalledRow | undefined;
  readonly others: readonly string[];
  readonly proposal?: Omit<Proposal, 'upgradeFrom' | 'diff' | 'lookalike' | 'indexVersion' | 'entry'>;
}

export function loadRequest(r: Reader, p: Request): RequestState {
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
  const c = compatibility({ kingdom: entry.kingdom, runners: entry.requires.runners, skills: entry.requires.skills }, presentOf(r, p.workspaceId));
  return { ...state, proposal: { compatible: c.compatible, why: c.why } };
}

// ---- complete ----------------------------------------------------------------------------------

export interface CompleteState extends PackCheckState {
  readonly row: InstallRow | undefined;
  readonly workspace: WorkspaceStatus;
  readonly applies: readonly { source: string; state: ApplyState }[];
}

export function loadComplete(r: Reader, p: { requestId: string; pack: string }): CompleteState {
  const row = readInstall(r, p.requestId);
  const empty = { row, workspace: undefined, applies: [], read: null, registry: null, present: null };
  if (!row || row.status !== 'approved') return empty;
  const sha = textSha256(p.pack);
  const size = new TextEncoder().encode(p.pack).length;
  const read = sha === row.proposal.entry.sha256 && size === row.proposal.entry.size ? readPack(p.pack) : null;
  const origin = { via: 'realm' as const, realm: row.realm };
  return {
    row, workspace: workspaceStatus(r, row.workspaceId), sha, size, read,
    applies: read?.ok ? read.pack.items.map((i) => ({ source: i.source, state: loadApply(r, { workspaceId: row.workspaceId, source: i.source, origin }) })) : [],
    registry: read?.ok ? readRegistry(r, row.workspaceId) : null,
    present: read?.ok ? presentOf(r, row.workspaceId) : null,
  };
}

export function decideComplete(st: CompleteState, p: { requestId: string; pack: string }): Decision {
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

export interface UninstallState {
  readonly workspace: WorkspaceStatus;
  readonly installed: InstalledRow | undefined;
  readonly registry: Registry | null;
  readonly present: ReadonlySet<string>;
}

export function loadUninstall(r: Reader, p: { workspaceId: string; name: string }): UninstallState {
  const installed = readInstalled(r, p.workspaceId, p.name)[0];
  const present = new Set([
    ...readManifestRows(r, p.workspaceId).map((m) => `${m.kind}/${m.name}@${m.version}`),
    ...readLibraryWorkflows(r, p.workspaceId).map((w) => `Workflow/${w.name}@${w.version}`),
  ]);
  return { workspace: workspaceStatus(r, p.workspaceId), installed, registry: installed ? readRegistry(r, p.workspaceId) : null, present };
}

export function decideUninstall(st: UninstallState, p: { workspaceId: string; name: string }): Decision {
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


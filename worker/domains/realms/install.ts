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
import { defineCommands, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import { workflowCode } from '../../workflow/code.ts';
import { realmCode } from './code.ts';
import { assertActiveWorkspace } from '../workspaces/scope.ts';
import { readInstall, type InstallRow, type Proposal } from './state.ts';
import { completeSchema, failSchema, one, pending, refSchema, rejectSchema, requestSchema, uninstallSchema, type Request } from './requests.ts';
import type { CompleteState, RequestState, UninstallState } from './install-logic.ts';

export const installCommands = defineCommands([
  {
    type: 'realm.install.request',
    needs: [realmCode, manifestCode],
    concurrent: 'Each request is its own proposal; two installs of one kata approved on two devices both install (the later receipt in merge order is the installed version).',
    description: "Ask to install (or upgrade to) a kata version from a realm's accepted index into a workspace: records a proposal (hashes, requirements, capabilities, compatibility, and for an upgrade the capability diff) for a person to approve or reject.",
    schema: requestSchema, mutates: true,
    load: (r: Reader, p: Request) => realmCode.get().loadRequest(r, p),
    decide: (st: RequestState, p: Request, ctx) => {
      const code = realmCode.get();
      assertActiveWorkspace(st.workspace, p.workspaceId);
      if (st.enabled === undefined) throw new KernelError('not_found', `There is no realm "${p.realm}".`, { realm: p.realm });
      if (!st.enabled) throw new KernelError('invalid_state', `The realm "${p.realm}" is disabled; enable it first.`, { realm: p.realm });
      const entry = st.index?.entry;
      if (!entry || !st.proposal) throw new KernelError('not_found', `The realm "${p.realm}" offers no ${p.name}@${p.version} in its accepted index; refresh it or pick another version.`, { realm: p.realm, name: p.name, version: p.version });
      if (st.installed?.version === p.version) throw new KernelError('invalid_state', `${p.name}@${p.version} is already installed in this workspace.`, { name: p.name, version: p.version });
      const like = st.others.find((n) => code.skeleton(n) === code.skeleton(p.name));
      const proposal: Proposal = {
        entry, indexVersion: st.index!.version, ...st.proposal,
        upgradeFrom: st.installed ? { version: st.installed.version, capabilities: st.installed.capabilities } : null,
        diff: st.installed ? code.capabilityDiff(st.installed.capabilities, entry.capabilities) : null,
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
    load: (r: Reader, p: { requestId: string; pack: string }) => realmCode.get().loadComplete(r, p),
    decide: (st: CompleteState, p: { requestId: string; pack: string }) => realmCode.get().decideComplete(st, p),
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
    needs: [realmCode, manifestCode, workflowCode],
    concurrent: 'An install merged after an uninstall brings the kata back.',
    description: "Uninstall a kata from a workspace: remove every manifest its install applied (its Workflow archived in the library), refused (has_dependents) while other manifests need one of them. Running sessions keep the workflow they pinned.",
    schema: uninstallSchema, mutates: true, audit: 'realm.uninstall',
    load: (r: Reader, p: { workspaceId: string; name: string }) => realmCode.get().loadUninstall(r, p),
    decide: (st: UninstallState, p: { workspaceId: string; name: string }) => realmCode.get().decideUninstall(st, p),
  },
]);

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

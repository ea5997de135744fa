/**
 * The Realms screen's and the Dojo's one door to the kernel's realm commands and queries
 * (docs/realms.md, "The contract"). Every call goes through the kernel client (src/lib/kernel.svelte.ts):
 * a failure is `null` here and an error in words under the caller's scope.
 *
 * Invariants:
 * 1. Workspace-scoped realm calls (katas, installs, install requests, uninstall) carry the open
 *    workspace; realm registration and trust are the person's, not a workspace's.
 * 2. Each user action is one idempotency key (kernel.act): a retry after an error is the same
 *    action, never a second install request.
 */
import type { TypedCommand } from '../../../worker/api.ts';
import { kernel } from '../kernel.svelte.ts';
import type { Incident, InstalledRow, InstallRow, KatasFilter, KataRow, RealmKind, RealmRow } from './types.ts';

/**
 * A query's answer, or null (the error is under `scope`), for queries the UI's QueryMap does not
 * type (the realm and manifest slices): through the client's own query path (no busy flag, so
 * several may run at once), with the result typed by the caller.
 */
export function realmQuery<T>(scope: string, name: string, params: Record<string, unknown> = {}, scopedToWorkspace = false): Promise<T | null> {
  const p = scopedToWorkspace && !('workspaceId' in params) ? { ...params, workspaceId: kernel.currentId } : params;
  return kernel.query(scope, name as 'workflow.list', p as never) as unknown as Promise<T | null>;
}

/** One realm command as one user action (`intent` identifies the action for its idempotency key). */
export async function realmCommand<T>(scope: string, type: string, payload: Record<string, unknown>, scopedToWorkspace = false): Promise<T | null> {
  const p = scopedToWorkspace && !('workspaceId' in payload) ? { ...payload, workspaceId: kernel.currentId } : payload;
  let out: T | null = null;
  await kernel.act(scope, { type, payload: p }, async (key) => {
    const r = await kernel.command(scope, { type, payload: p, idempotencyKey: key } as unknown as TypedCommand);
    out = r === null ? null : (r.value as T);
    return r !== null;
  });
  return out;
}

export const listRealms = (scope: string) => realmQuery<RealmRow[]>(scope, 'realm.list');
export const listIncidents = (scope: string) => realmQuery<Incident[]>(scope, 'realm.incidents');
export const listInstalls = (scope: string, status?: string) => realmQuery<InstallRow[]>(scope, 'realm.installs', status ? { status } : {}, true);
export const listInstalled = (scope: string) => realmQuery<InstalledRow[]>(scope, 'realm.installed', {}, true);

/** Katas of the enabled realms; empty filter fields are left out. */
export function searchKatas(scope: string, f: KatasFilter): Promise<KataRow[] | null> {
  const params: Record<string, unknown> = {};
  if (f.query?.trim()) params['query'] = f.query.trim();
  if (f.tags?.length) params['tags'] = [...f.tags];
  if (f.complexity) params['complexity'] = f.complexity;
  if (f.skills?.length) params['skills'] = [...f.skills];
  if (f.realm) params['realm'] = f.realm;
  return realmQuery<KataRow[]>(scope, 'realm.katas', params, true);
}

export interface RegisterRealm {
  readonly id: string;
  readonly kind: RealmKind;
  readonly url: string;
  readonly root: unknown;
  readonly title?: string;
}

export const registerRealm = (scope: string, r: RegisterRealm) =>
  realmCommand<unknown>(scope, 'realm.register', { id: r.id, kind: r.kind, url: r.url, root: r.root, ...(r.title ? { title: r.title } : {}) });
export const setRealmEnabled = (scope: string, id: string, enabled: boolean) => realmCommand<unknown>(scope, enabled ? 'realm.enable' : 'realm.disable', { id });
export const refreshRealm = (scope: string, id: string) => realmCommand<unknown>(scope, 'realm.refresh', { id });
export const removeRealm = (scope: string, id: string) => realmCommand<unknown>(scope, 'realm.remove', { id });

export const requestInstall = (scope: string, realm: string, name: string, version: string) =>
  realmCommand<{ requestId: string }>(scope, 'realm.install.request', { realm, name, version }, true);
export const approveInstall = (scope: string, requestId: string) => realmCommand<unknown>(scope, 'realm.install.approve', { requestId });
export const rejectInstall = (scope: string, requestId: string, reason: string) => realmCommand<unknown>(scope, 'realm.install.reject', { requestId, reason });
export const uninstallKata = (scope: string, name: string) => realmCommand<unknown>(scope, 'realm.uninstall', { name }, true);

/** What depends on an installed kata's manifests (before uninstall or upgrade). */
export async function kataDependents(scope: string, manifests: InstalledRow['manifests']): Promise<string[] | null> {
  const own = new Set(manifests.map((m) => `${m.kind}/${m.name}@${m.version}`));
  const out = new Set<string>();
  for (const m of manifests) {
    if (m.kind === 'Workflow') continue;
    const r = await realmQuery<{ all: string[] }>(scope, 'manifest.dependents', { kind: m.kind, name: m.name, version: m.version }, true);
    if (r === null) return null;
    for (const d of r.all) if (!own.has(d)) out.add(d);
  }
  return [...out].sort();
}

export interface Receipt {
  /** The `realm.installed` event. */
  readonly seq: number;
  /** Its entry in the audit chain, when found. */
  readonly audit: { readonly seq: number; readonly action: string } | null;
}

/** Where an install's receipt is in the log: the newest `realm.installed` event of `name@version`, and its audit entry. */
export async function findReceipt(scope: string, name: string, version: string): Promise<Receipt | null> {
  const page = await realmQuery<{ events: { seq: number; payload: Record<string, unknown> }[] }>(scope, 'events.list', { types: ['realm.installed'], limit: 200 });
  const e = page?.events.find((x) => x.payload['name'] === name && x.payload['version'] === version);
  if (!e) return null;
  let audit: Receipt['audit'] = null;
  let after = 0;
  for (let i = 0; i < 20 && audit === null; i++) {
    const entries = await realmQuery<{ seq: number; eventSeq: number; action: string }[]>(scope, 'audit.list', { afterSeq: after, limit: 1000 });
    if (!entries || entries.length === 0) break;
    const hit = entries.find((a) => a.eventSeq === e.seq);
    if (hit) audit = { seq: hit.seq, action: hit.action };
    after = entries.at(-1)!.seq;
  }
  return { seq: e.seq, audit };
}

/** Seq of the newest event in the live tail whose type starts with one of `prefixes` (0 when none). */
export function lastSeqOfTypes(prefixes: readonly string[]): number {
  const recent = kernel.recent;
  for (let i = recent.length - 1; i >= 0; i--) {
    const e = recent[i]!;
    if (prefixes.some((p) => e.type.startsWith(p))) return e.seq;
  }
  return 0;
}

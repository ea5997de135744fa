/**
 * The current workspace of this device, and the scoped commands and queries it applies to.
 *
 * Invariants:
 * 1. Which workspace is open is per-device client state (docs/architecture.md, ADR 0xx "Workspaces
 *    scope everything"): it lives in this origin's localStorage, never in the log, so devices that
 *    sync the same log never fight over it. Tabs of one browser share it (a newly opened tab
 *    starts where the last switch left it); each tab keeps its own until it switches.
 * 2. No stored choice, or one that names a workspace that is gone or archived: the default
 *    workspace, which always exists. A newcomer never has to create a workspace first.
 * 3. `scoped` adds the current `workspaceId` to the payload of a scoped command or the params of a
 *    scoped query that does not name one; everything else passes through unchanged. Every call the
 *    client makes goes through it, so no screen can read or write outside the open workspace by
 *    forgetting the field.
 */
import type { DEFAULT_WORKSPACE_ID as WorkerDefaultId } from '../../worker/domains/workspaces/default-id.ts';

/** The worker's default workspace id; `typeof WorkerDefaultId` makes a drift a type error, with no run-time import. */
const DEFAULT_WORKSPACE_ID: typeof WorkerDefaultId = '00000000-0000-4000-8000-000000000000';

export { DEFAULT_WORKSPACE_ID };

const STORAGE_KEY = 'kingdom.workspace';

/** Commands whose payload takes `workspaceId` (the others derive it from the entity they target). */
export const SCOPED_COMMANDS: ReadonlySet<string> = new Set([
  'workflow.save', 'workflow.archive', 'session.start',
  'forest.node.create', 'secret.set', 'secret.delete', 'llm.provider.set', 'llm.provider.delete', 'policy.set',
  'contract.set',
  'manifest.apply', 'manifest.remove', 'monument.bring_up',
  'capability.report', 'capability.resolve',
]);

/** Queries that answer one workspace (reads by id take an optional workspaceId: added too). */
export const SCOPED_QUERIES: ReadonlySet<string> = new Set([
  'workflow.list', 'workflow.get', 'workflow.revisions', 'session.list', 'session.inbox',
  'forest.search', 'forest.node.list', 'forest.tags', 'forest.node.get', 'forest.links', 'forest.traverse', 'forest.graph', 'forest.resolve',
  'secret.list', 'llm.provider.list', 'policy.get', 'policy.violations', 'capability.missing.list', 'workflow.check', 'manifest.tools',
  'contract.list',
  'manifest.list', 'manifest.get', 'manifest.resolve', 'manifest.graph', 'manifest.dependents', 'manifest.validate', 'relic.health', 'monument.bring_up.get',
]);

/** `params` with the workspace added when `name` is scoped and it names none. */
export function scoped(kind: 'command' | 'query', name: string, params: unknown, workspaceId: string): unknown {
  const set = kind === 'command' ? SCOPED_COMMANDS : SCOPED_QUERIES;
  if (!set.has(name)) return params;
  const obj = params === undefined || params === null ? {} : params;
  if (typeof obj !== 'object' || Array.isArray(obj) || 'workspaceId' in obj) return params;
  return { ...obj, workspaceId };
}

/** The workspace this device last switched to (the default workspace when none). */
export function storedWorkspace(): string {
  try {
    return globalThis.localStorage?.getItem(STORAGE_KEY) || DEFAULT_WORKSPACE_ID;
  } catch {
    return DEFAULT_WORKSPACE_ID;
  }
}

export function storeWorkspace(workspaceId: string): void {
  try {
    if (workspaceId === DEFAULT_WORKSPACE_ID) globalThis.localStorage?.removeItem(STORAGE_KEY);
    else globalThis.localStorage?.setItem(STORAGE_KEY, workspaceId);
  } catch {
    // Storage refused (private mode, quota): the choice lasts for this tab only.
  }
}

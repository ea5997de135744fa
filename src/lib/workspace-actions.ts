/**
 * The workspace and project actions the screens offer, as kernel commands. Each function is one
 * user action: it gets one idempotency key (reused when the same action is retried after an
 * error) and reports failures under its own scope, so the message shows next to the control.
 *
 * Changes to an existing entity carry `expectedVersion`: the version the user saw when they
 * started the change, so an edit made meanwhile elsewhere surfaces as a conflict instead of
 * being overwritten.
 */
import { kernel, type CommandIntent } from './kernel.svelte.ts';

export type EntityKind = 'workspace' | 'project';

/** Error scope of an action on one entity, e.g. `workspace:<id>:rename`. */
export function entityScope(kind: EntityKind, id: string, action: 'open' | 'rename' | 'archive'): string {
  return `${kind}:${id}:${action}`;
}

export const CREATE_WORKSPACE_SCOPE = 'workspace.create';
export const CREATE_PROJECT_SCOPE = 'project.create';

/** Create a workspace (the open one stays open: switch with `openWorkspace`). */
export async function createWorkspace(name: string): Promise<boolean> {
  const r = await kernel.run(CREATE_WORKSPACE_SCOPE, { type: 'workspace.create', payload: { name } });
  return r !== null;
}

/** Open a workspace on this device (client state, no command: docs/architecture.md). */
export function openWorkspace(workspaceId: string): void {
  kernel.switchWorkspace(workspaceId);
}

export async function rename(kind: EntityKind, id: string, name: string, expectedVersion: number): Promise<boolean> {
  const cmd: CommandIntent = kind === 'workspace'
    ? { type: 'workspace.rename', payload: { workspaceId: id, name }, expectedVersion }
    : { type: 'project.rename', payload: { projectId: id, name }, expectedVersion };
  const r = await kernel.run(entityScope(kind, id, 'rename'), cmd);
  return r !== null;
}

export async function archive(kind: EntityKind, id: string, expectedVersion: number): Promise<boolean> {
  const cmd: CommandIntent = kind === 'workspace'
    ? { type: 'workspace.archive', payload: { workspaceId: id }, expectedVersion }
    : { type: 'project.archive', payload: { projectId: id }, expectedVersion };
  const r = await kernel.run(entityScope(kind, id, 'archive'), cmd);
  return r !== null;
}

export async function createProject(workspaceId: string, name: string): Promise<boolean> {
  const r = await kernel.run(CREATE_PROJECT_SCOPE, { type: 'project.create', payload: { workspaceId, name } });
  return r !== null;
}

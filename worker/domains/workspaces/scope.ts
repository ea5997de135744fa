/**
 * Workspace scope, shared by every scoped slice (sessions and the workflow library, Forest, secrets,
 * LLM providers): the default workspace, the `workspaceId` payload field and the check that a
 * workspace exists and is active. See docs/architecture.md (ADR "Workspaces scope everything").
 *
 * Invariants:
 * 1. The default workspace has the fixed id DEFAULT_WORKSPACE_ID. It always exists: the workspaces
 *    projection creates its row together with its table (no event), so every log, old or new,
 *    rebuilds with it, and it cannot be archived.
 * 2. Events written before workspaces scoped anything (version 1 of the scoped event types) carry
 *    no workspaceId; their upcasters (`toDefaultWorkspace`) lift them into the default workspace.
 *    Stored events are never rewritten.
 * 3. A scoped command or query whose payload omits `workspaceId` means the default workspace.
 */
import { z } from 'zod';
import type { Json } from '../../kernel/errors.ts';
import { KernelError } from '../../kernel/errors.ts';
import type { Reader, Upcaster } from '../../kernel/module.ts';

import { DEFAULT_WORKSPACE_ID } from './default-id.ts';

/** The id of the workspace every install starts with, and where pre-workspace data lives. */
export { DEFAULT_WORKSPACE_ID };
export const DEFAULT_WORKSPACE_NAME = 'Default';
/** `created_at` of the default workspace's row (it has no creation event). */
export const DEFAULT_WORKSPACE_CREATED_AT = '1970-01-01T00:00:00.000Z';

export const workspaceIdSchema = z.uuid({ message: 'expected a workspace id (a UUID)' });
/** The `workspaceId` of a scoped command or query: optional, the default workspace when omitted. */
export const workspaceField = workspaceIdSchema.default(DEFAULT_WORKSPACE_ID);

/** v1 → v2 of a scoped event: the payload gains `workspaceId` = the default workspace. */
export const toDefaultWorkspace: Upcaster = {
  fromVersion: 1,
  up: (payload: Json): Json => ({ ...(payload as { [k: string]: Json }), workspaceId: DEFAULT_WORKSPACE_ID }),
};

/** `imported`: a read-only copy imported from a workspace file (decision 40); nothing can be added to it. */
export type WorkspaceStatus = 'active' | 'archived' | 'imported' | undefined;

/** Status of a workspace (read by other slices' `load`, from the workspaces projection). */
export function workspaceStatus(r: Reader, workspaceId: string): WorkspaceStatus {
  const row = r.get('SELECT status, EXISTS (SELECT 1 FROM workspace_copies WHERE workspace_id = ?1) AS copy FROM workspaces WHERE id = ?1', [workspaceId]);
  if (!row) return undefined;
  if (Number(row['copy']) === 1) return 'imported';
  return row['status'] === 'active' || row['status'] === 'archived' ? row['status'] : undefined;
}

/** The refusal of a change to a read-only imported copy. */
export function importedCopy(name: string, workspaceId: string): KernelError {
  return new KernelError('imported_copy', `payload.workspaceId: workspace "${name}" is a read-only copy imported from a workspace file; nothing in it can be changed. Work in a workspace of your own.`, { field: 'payload.workspaceId', workspaceId });
}

export interface ProjectRef {
  readonly workspaceId: string;
  readonly status: 'active' | 'archived';
}

/** A project's workspace and status (read by other slices' `load`, from the projects projection). */
export function projectRef(r: Reader, projectId: string): ProjectRef | undefined {
  const row = r.get('SELECT workspace_id, status FROM projects WHERE id = ?', [projectId]);
  return row ? { workspaceId: String(row['workspace_id']), status: row['status'] === 'archived' ? 'archived' : 'active' } : undefined;
}

/** Throw unless the project exists, is active and belongs to `workspaceId`. */
export function assertProjectIn(ref: ProjectRef | undefined, projectId: string, workspaceId: string): void {
  if (!ref) throw new KernelError('not_found', `payload.projectId: no project ${projectId}; list the workspace's projects to pick one.`, { field: 'payload.projectId', projectId });
  if (ref.workspaceId !== workspaceId) {
    throw new KernelError('invalid_payload', `payload.projectId: project ${projectId} belongs to another workspace; a project groups things of its own workspace only.`, { field: 'payload.projectId', projectId, workspaceId });
  }
  if (ref.status === 'archived') throw new KernelError('archived', `payload.projectId: project ${projectId} is archived; nothing can be added to it.`, { field: 'payload.projectId', projectId });
}

/** Throw unless the workspace exists and is active (used in `decide`, on the loaded status). */
export function assertActiveWorkspace(status: WorkspaceStatus, workspaceId: string): void {
  if (status === undefined) {
    throw new KernelError('not_found', `payload.workspaceId: no workspace ${workspaceId}; list workspaces to pick an existing id.`, { field: 'payload.workspaceId', workspaceId });
  }
  if (status === 'archived') {
    throw new KernelError('archived', `payload.workspaceId: workspace ${workspaceId} is archived; nothing can be added to it.`, { field: 'payload.workspaceId', workspaceId });
  }
  if (status === 'imported') throw importedCopy(workspaceId, workspaceId);
}

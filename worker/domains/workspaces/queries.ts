/**
 * Reads of the workspace slice, over its own tables only.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import type { Row } from '../../kernel/db/sql.ts';
import type { ImportedFrom } from '../../kernel/workspace-file/format.ts';
import { id } from './schemas.ts';
import { DEFAULT_WORKSPACE_ID } from './scope.ts';

export interface Workspace {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly status: 'active' | 'archived';
  readonly createdAt: string;
  readonly updatedAt: string;
  /** True for the workspace every install starts with (DEFAULT_WORKSPACE_ID). */
  readonly isDefault: boolean;
  /** Stream version: pass as expectedVersion to change it optimistically. */
  readonly version: number;
  readonly projectCount: number;
  /** Set when this workspace is a read-only copy imported from a workspace file (decision 40). */
  readonly imported: WorkspaceCopy | null;
}

/** Where an imported copy came from, as its `workspace.imported` record says (verified on import), and when it was imported. */
export type WorkspaceCopy = Omit<ImportedFrom, 'blobs'> & { readonly importedAt: string };

export interface Project {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly description: string;
  readonly status: 'active' | 'archived';
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly version: number;
}

const COPY = '(SELECT c.record FROM workspace_copies c WHERE c.workspace_id = w.id) AS copy, (SELECT c.imported_at FROM workspace_copies c WHERE c.workspace_id = w.id) AS copied_at';

export function getWorkspace(r: Reader, workspaceId: string): Workspace | undefined {
  const row = r.get(`SELECT w.*, (SELECT COUNT(*) FROM projects p WHERE p.workspace_id = w.id AND p.status = 'active') AS project_count, ${COPY}
                     FROM workspaces w WHERE w.id = ?`, [workspaceId]);
  return row ? toWorkspace(row) : undefined;
}

/** The workspace row alone (no project count): what command decisions need, O(1). */
export function workspaceState(r: Reader, workspaceId: string): Workspace | undefined {
  const row = r.get(`SELECT w.*, 0 AS project_count, ${COPY} FROM workspaces w WHERE w.id = ?`, [workspaceId]);
  return row ? toWorkspace(row) : undefined;
}

export function getProject(r: Reader, projectId: string): Project | undefined {
  const row = r.get('SELECT * FROM projects WHERE id = ?', [projectId]);
  return row ? toProject(row) : undefined;
}

export function findActiveWorkspaceByName(r: Reader, name: string): string | undefined {
  // Imported copies keep their original's name and take none away from the person's own workspaces.
  const v = r.value("SELECT id FROM workspaces WHERE status = 'active' AND name = ? COLLATE NOCASE AND id NOT IN (SELECT workspace_id FROM workspace_copies)", [name]);
  return typeof v === 'string' ? v : undefined;
}

export function findActiveProjectByName(r: Reader, workspaceId: string, name: string): string | undefined {
  const v = r.value("SELECT id FROM projects WHERE workspace_id = ? AND status = 'active' AND name = ? COLLATE NOCASE", [workspaceId, name]);
  return typeof v === 'string' ? v : undefined;
}

export const queries = defineQueries([
  {
    name: 'workspace.list',
    description: 'Workspaces: the default one first, then by name, then the read-only copies imported from files (`imported`); archived ones (last) only when asked. Which one is open is client state, not a kernel fact.',
    schema: z.strictObject({ includeArchived: z.boolean().default(false) }),
    run: (r, p: { includeArchived: boolean }) =>
      r.all(`SELECT w.*, (SELECT COUNT(*) FROM projects p WHERE p.workspace_id = w.id AND p.status = 'active') AS project_count, ${COPY}
             FROM workspaces w ${p.includeArchived ? '' : "WHERE w.status = 'active'"}
             ORDER BY w.status ASC, copy IS NOT NULL, w.id = '${DEFAULT_WORKSPACE_ID}' DESC, w.name COLLATE NOCASE ASC, w.id ASC`).map(toWorkspace),
  },
  {
    name: 'workspace.get',
    description: 'One workspace by id, or null.',
    schema: z.strictObject({ workspaceId: id }),
    run: (r, p: { workspaceId: string }) => getWorkspace(r, p.workspaceId) ?? null,
  },
  {
    name: 'project.list',
    description: "A workspace's projects by name; archived ones only when asked.",
    schema: z.strictObject({ workspaceId: id, includeArchived: z.boolean().default(false) }),
    run: (r, p: { workspaceId: string; includeArchived: boolean }) =>
      r.all(`SELECT * FROM projects WHERE workspace_id = ? ${p.includeArchived ? '' : "AND status = 'active'"}
             ORDER BY status ASC, name COLLATE NOCASE ASC`, [p.workspaceId]).map(toProject),
  },
  {
    name: 'project.get',
    description: 'One project by id, or null.',
    schema: z.strictObject({ projectId: id }),
    run: (r, p: { projectId: string }) => getProject(r, p.projectId) ?? null,
  },
]);

function toWorkspace(r: Row): Workspace {
  return {
    id: String(r['id']), name: String(r['name']), description: String(r['description']),
    status: r['status'] === 'archived' ? 'archived' : 'active',
    createdAt: String(r['created_at']), updatedAt: String(r['updated_at']),
    isDefault: r['id'] === DEFAULT_WORKSPACE_ID,
    version: Number(r['version']), projectCount: Number(r['project_count'] ?? 0),
    imported: typeof r['copy'] === 'string' ? toCopy(JSON.parse(r['copy']) as CopyRecord, String(r['copied_at'])) : null,
  };
}

interface CopyRecord {
  importId: string; manifestHash: string; events: number;
  manifest: { workspace: { id: string; name: string }; exporter: { device: string; name: string | null; keyId: string }; exportedAt: string };
}

function toCopy(c: CopyRecord, importedAt: string): WorkspaceCopy {
  const ex = c.manifest.exporter;
  return {
    importId: c.importId, manifestHash: c.manifestHash, original: { workspaceId: c.manifest.workspace.id, name: c.manifest.workspace.name },
    source: { device: ex.device, name: ex.name, keyId: ex.keyId }, exportedAt: c.manifest.exportedAt, importedAt, events: c.events,
  };
}

function toProject(r: Row): Project {
  return {
    id: String(r['id']), workspaceId: String(r['workspace_id']), name: String(r['name']),
    description: String(r['description']), status: r['status'] === 'archived' ? 'archived' : 'active',
    createdAt: String(r['created_at']), updatedAt: String(r['updated_at']), version: Number(r['version']),
  };
}

/**
 * Read models of the workspace slice: `workspaces` and `projects`.
 * Deterministic: every value comes from the event (its payload, `at`, `seq`, `streamSeq`).
 */
import type { Projection } from '../../kernel/module.ts';
import type { EventEnvelope } from '../../kernel/log/envelope.ts';
import { DEFAULT_WORKSPACE_CREATED_AT, DEFAULT_WORKSPACE_ID, DEFAULT_WORKSPACE_NAME } from './scope.ts';
import { COPY_REMOVED, WORKSPACE_IMPORTED } from '../../kernel/workspace-file/imported.ts';

type P = Record<string, string>;

/**
 * `workspaces`. The default workspace's row is created with the table (it has no event), so it is
 * there in every database and after every rebuild. `workspace.opened` (v1 logs only: opening became
 * client state) still sets opened_at/open_seq, which nothing reads any more.
 */
export const workspacesProjection: Projection = {
  name: 'workspaces',
  // 2: the default workspace row (workspace scope); a stored version 1 is rebuilt from the log.
  version: 2,
  tables: ['workspaces'],
  eventTypes: ['workspace.created', 'workspace.renamed', 'workspace.opened', 'workspace.archived', WORKSPACE_IMPORTED, COPY_REMOVED],
  createSql: `
    CREATE TABLE workspaces (
      id          TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      description TEXT NOT NULL,
      status      TEXT NOT NULL CHECK (status IN ('active', 'archived')),
      created_at  TEXT NOT NULL,
      updated_at  TEXT NOT NULL,
      opened_at   TEXT,
      open_seq    INTEGER,
      version     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX workspaces_name ON workspaces (status, name COLLATE NOCASE);
    INSERT INTO workspaces (id, name, description, status, created_at, updated_at, version)
      VALUES ('${DEFAULT_WORKSPACE_ID}', '${DEFAULT_WORKSPACE_NAME}', '', 'active', '${DEFAULT_WORKSPACE_CREATED_AT}', '${DEFAULT_WORKSPACE_CREATED_AT}', 0);`,
  apply(e: EventEnvelope, w) {
    const p = e.payload as P;
    switch (e.type) {
      case 'workspace.created':
        w.run(`INSERT INTO workspaces (id, name, description, status, created_at, updated_at, version)
               VALUES (?, ?, ?, 'active', ?, ?, ?)`, [p['workspaceId']!, p['name']!, p['description'] ?? '', e.at, e.at, e.streamSeq]);
        break;
      case 'workspace.renamed':
        w.run('UPDATE workspaces SET name = ?, updated_at = ?, version = ? WHERE id = ?', [p['name']!, e.at, e.streamSeq, p['workspaceId']!]);
        break;
      case 'workspace.opened':
        w.run('UPDATE workspaces SET opened_at = ?, open_seq = ?, version = ? WHERE id = ?', [e.at, e.seq, e.streamSeq, p['workspaceId']!]);
        break;
      case 'workspace.archived':
        w.run("UPDATE workspaces SET status = 'archived', updated_at = ?, version = ? WHERE id = ?", [e.at, e.streamSeq, p['workspaceId']!]);
        break;
      // An imported copy (decision 40): its row comes with its imported workspace.created, if the
      // original had one (not the default workspace), and the record makes it an active copy.
      case WORKSPACE_IMPORTED: {
        const ws = (e.payload as { manifest: { workspace: { name: string; description: string } } }).manifest.workspace;
        w.run(`INSERT INTO workspaces (id, name, description, status, created_at, updated_at, version) VALUES (?, ?, ?, 'active', ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = 'active', updated_at = excluded.updated_at, version = excluded.version`,
        [p['workspaceId']!, ws.name, ws.description, e.at, e.at, e.streamSeq]);
        break;
      }
      case COPY_REMOVED:
        w.run('DELETE FROM workspaces WHERE id = ?', [p['workspaceId']!]);
        break;
    }
  },
};

/** `workspace_copies`: the workspaces that are read-only copies imported from a file, and where from. */
export const copiesProjection: Projection = {
  name: 'workspace_copies',
  version: 1,
  tables: ['workspace_copies'],
  eventTypes: [WORKSPACE_IMPORTED, COPY_REMOVED],
  createSql: `CREATE TABLE workspace_copies (
    workspace_id TEXT PRIMARY KEY,
    record       TEXT NOT NULL,
    imported_at  TEXT NOT NULL
  ) STRICT;`,
  apply(e: EventEnvelope, w) {
    const p = e.payload as P;
    if (e.type === WORKSPACE_IMPORTED) {
      w.run('INSERT OR REPLACE INTO workspace_copies (workspace_id, record, imported_at) VALUES (?, ?, ?)', [p['workspaceId']!, JSON.stringify(e.payload), e.at]);
    } else {
      w.run('DELETE FROM workspace_copies WHERE workspace_id = ?', [p['workspaceId']!]);
    }
  },
};

export const projectsProjection: Projection = {
  name: 'projects',
  version: 1,
  tables: ['projects'],
  eventTypes: ['project.created', 'project.renamed', 'project.archived'],
  createSql: `
    CREATE TABLE projects (
      id           TEXT PRIMARY KEY,
      workspace_id TEXT NOT NULL,
      name         TEXT NOT NULL,
      description  TEXT NOT NULL,
      status       TEXT NOT NULL CHECK (status IN ('active', 'archived')),
      created_at   TEXT NOT NULL,
      updated_at   TEXT NOT NULL,
      version      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX projects_workspace ON projects (workspace_id, status, name COLLATE NOCASE);`,
  apply(e: EventEnvelope, w) {
    const p = e.payload as P;
    switch (e.type) {
      case 'project.created':
        w.run(`INSERT INTO projects (id, workspace_id, name, description, status, created_at, updated_at, version)
               VALUES (?, ?, ?, ?, 'active', ?, ?, ?)`,
          [p['projectId']!, p['workspaceId']!, p['name']!, p['description'] ?? '', e.at, e.at, e.streamSeq]);
        break;
      case 'project.renamed':
        w.run('UPDATE projects SET name = ?, updated_at = ?, version = ? WHERE id = ?', [p['name']!, e.at, e.streamSeq, p['projectId']!]);
        break;
      case 'project.archived':
        w.run("UPDATE projects SET status = 'archived', updated_at = ?, version = ? WHERE id = ?", [e.at, e.streamSeq, p['projectId']!]);
        break;
    }
  },
};

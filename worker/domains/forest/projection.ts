/**
 * Read models of the Forest: `forest_nodes` (+ `forest_node_tags` and the FTS5 index `forest_fts`)
 * and `forest_links`.
 *
 * Invariants:
 * 1. Deterministic: every value comes from the event (payload, `at`, `seq`, `streamSeq`, `actor`).
 *    A node's integer key `rid` is the `seq` of its `forest.node_created` event, so a rebuild gives
 *    the same rowids and therefore identical digests.
 * 2. `forest_fts` is an external-content FTS5 table over `forest_nodes(title, body, tags)`; it holds
 *    exactly the ACTIVE nodes. Every change first removes the old row from the index ('delete' with
 *    the old values) and then inserts the new one, so the index never drifts from its content.
 *    It keeps prefix indexes for 3- and 4-character prefixes, so `abc*` / `abcd*` read one doclist
 *    instead of merging every term in their range (docs/forest.md, "Search").
 * 3. `version` is the stream version of `forest:node:<id>`, which also carries the node's outgoing
 *    link events, so the nodes projection follows those events for the version alone.
 * 4. `forest_links` keeps links to archived nodes; queries hide them (join on active nodes), so a
 *    node delete needs no cascade and stays a single event.
 */
import type { Projection, Writer } from '../../kernel/module.ts';
import type { EventEnvelope } from '../../kernel/log/envelope.ts';

type P = Record<string, unknown>;

export const forestNodesProjection: Projection = {
  name: 'forest_nodes',
  // 2: forest_fts got a prefix index (prefix = '3 4'); a stored version 1 is rebuilt from the log.
  // 3: workspace_id and project_id (workspace scope).
  version: 3,
  tables: ['forest_fts', 'forest_node_tags', 'forest_nodes'],
  eventTypes: ['forest.node_created', 'forest.node_updated', 'forest.node_deleted', 'forest.link_created', 'forest.link_deleted'],
  createSql: `
    CREATE TABLE forest_nodes (
      rid         INTEGER PRIMARY KEY,
      id          TEXT NOT NULL UNIQUE,
      workspace_id TEXT NOT NULL,
      project_id  TEXT,
      title       TEXT NOT NULL,
      body        TEXT NOT NULL,
      tags        TEXT NOT NULL,
      metadata    TEXT NOT NULL,
      status      TEXT NOT NULL CHECK (status IN ('active', 'archived')),
      created_by  TEXT NOT NULL,
      updated_by  TEXT NOT NULL,
      session_id  TEXT,
      created_at  TEXT NOT NULL,
      updated_at  TEXT NOT NULL,
      version     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX forest_nodes_title ON forest_nodes (title COLLATE NOCASE) WHERE status = 'active';
    CREATE INDEX forest_nodes_session ON forest_nodes (session_id, rid) WHERE session_id IS NOT NULL;
    CREATE INDEX forest_nodes_workspace ON forest_nodes (workspace_id, status, updated_at);
    CREATE TABLE forest_node_tags (
      tag      TEXT NOT NULL,
      node_rid INTEGER NOT NULL,
      PRIMARY KEY (tag, node_rid)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX forest_node_tags_node ON forest_node_tags (node_rid);
    CREATE VIRTUAL TABLE forest_fts USING fts5(
      title, body, tags,
      content = 'forest_nodes', content_rowid = 'rid',
      tokenize = 'porter unicode61',
      prefix = '3 4'
    );`,
  apply(e: EventEnvelope, w) {
    const p = e.payload as P;
    if (e.type === 'forest.link_created' || e.type === 'forest.link_deleted') {
      // Links live on the from-node's stream: keep its version (for expectedVersion) in step.
      w.run('UPDATE forest_nodes SET version = ? WHERE id = ?', [e.streamSeq, String(p['from'])]);
      return;
    }
    const nodeId = String(p['nodeId']);
    const session = p['sessionId'] == null ? null : String(p['sessionId']);
    switch (e.type) {
      case 'forest.node_created': {
        // Two creates of one id (written concurrently, e.g. a summary on two devices): the first
        // in merge order wins, the second changes nothing.
        if (w.value('SELECT 1 FROM forest_nodes WHERE id = ?', [nodeId]) !== undefined) return;
        const tags = p['tags'] as string[];
        const tagText = tags.join(' ');
        w.run(`INSERT INTO forest_nodes (rid, id, workspace_id, project_id, title, body, tags, metadata, status, created_by, updated_by, session_id, created_at, updated_at, version)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)`,
          [e.seq, nodeId, String(p['workspaceId']), p['projectId'] == null ? null : String(p['projectId']), String(p['title']), String(p['body']), tagText, JSON.stringify(p['metadata']), e.actor, e.actor, session, e.at, e.at, e.streamSeq]);
        w.run('INSERT INTO forest_fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)', [e.seq, String(p['title']), String(p['body']), tagText]);
        for (const t of tags) w.run('INSERT INTO forest_node_tags (tag, node_rid) VALUES (?, ?)', [t, e.seq]);
        break;
      }
      case 'forest.node_updated': {
        // Delete beats update: an update merged after the node was archived (written concurrently
        // on another device) changes nothing; an archived node is not in the index to update.
        const old = w.get("SELECT rid, title, body, tags FROM forest_nodes WHERE id = ? AND status = 'active'", [nodeId]);
        if (!old) return;
        const rid = Number(old['rid']);
        const title = p['title'] === undefined ? String(old['title']) : String(p['title']);
        const body = p['body'] === undefined ? String(old['body']) : String(p['body']);
        const tags = p['tags'] === undefined ? undefined : (p['tags'] as string[]);
        const tagText = tags === undefined ? String(old['tags']) : tags.join(' ');
        unindex(w, old);
        w.run(`UPDATE forest_nodes SET title = ?, body = ?, tags = ?, metadata = COALESCE(?, metadata), updated_by = ?,
                 session_id = COALESCE(?, session_id), updated_at = ?, version = ? WHERE rid = ?`,
          [title, body, tagText, p['metadata'] === undefined ? null : JSON.stringify(p['metadata']), e.actor, session, e.at, e.streamSeq, rid]);
        w.run('INSERT INTO forest_fts (rowid, title, body, tags) VALUES (?, ?, ?, ?)', [rid, title, body, tagText]);
        if (tags !== undefined) {
          w.run('DELETE FROM forest_node_tags WHERE node_rid = ?', [rid]);
          for (const t of tags) w.run('INSERT INTO forest_node_tags (tag, node_rid) VALUES (?, ?)', [t, rid]);
        }
        break;
      }
      case 'forest.node_deleted': {
        const old = w.get("SELECT rid, title, body, tags FROM forest_nodes WHERE id = ? AND status = 'active'", [nodeId]);
        if (!old) return;
        unindex(w, old);
        w.run("UPDATE forest_nodes SET status = 'archived', updated_by = ?, updated_at = ?, version = ? WHERE rid = ?", [e.actor, e.at, e.streamSeq, Number(old['rid'])]);
        break;
      }
    }
  },
  restored(w) {
    // The index holds exactly the active nodes (invariant 2): empty it, then index those.
    w.run("INSERT INTO forest_fts (forest_fts) VALUES ('delete-all')");
    w.run("INSERT INTO forest_fts (rowid, title, body, tags) SELECT rid, title, body, tags FROM forest_nodes WHERE status = 'active' ORDER BY rid");
  },
};

function unindex(w: Writer, old: Record<string, unknown>): void {
  w.run("INSERT INTO forest_fts (forest_fts, rowid, title, body, tags) VALUES ('delete', ?, ?, ?, ?)",
    [Number(old['rid']), String(old['title']), String(old['body']), String(old['tags'])]);
}

export const forestLinksProjection: Projection = {
  name: 'forest_links',
  version: 1,
  tables: ['forest_links'],
  eventTypes: ['forest.link_created', 'forest.link_deleted'],
  createSql: `
    CREATE TABLE forest_links (
      from_id    TEXT NOT NULL,
      to_id      TEXT NOT NULL,
      type       TEXT NOT NULL,
      metadata   TEXT NOT NULL,
      created_by TEXT NOT NULL,
      session_id TEXT,
      created_at TEXT NOT NULL,
      seq        INTEGER NOT NULL,
      PRIMARY KEY (from_id, to_id, type)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX forest_links_to ON forest_links (to_id, type);`,
  apply(e: EventEnvelope, w) {
    const p = e.payload as P;
    const session = p['sessionId'] == null ? null : String(p['sessionId']);
    if (e.type === 'forest.link_created') {
      w.run(`INSERT INTO forest_links (from_id, to_id, type, metadata, created_by, session_id, created_at, seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (from_id, to_id, type) DO NOTHING`,
        [String(p['from']), String(p['to']), String(p['type']), JSON.stringify(p['metadata']), e.actor, session, e.at, e.seq]);
    } else if (e.type === 'forest.link_deleted') {
      w.run('DELETE FROM forest_links WHERE from_id = ? AND to_id = ? AND type = ?', [String(p['from']), String(p['to']), String(p['type'])]);
    }
  },
};

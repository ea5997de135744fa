/**
 * Read models of the workflow library and of sessions: what the UI lists and what commands load
 * to validate transitions. Derived from the log only (rebuildable, digest-stable).
 *
 * `sessions.waiting` is the number of the session's steps waiting for a person (status `waiting`,
 * an approval not yet decided). It is counted again from `session_steps` after every event that
 * can start or end such a wait (an approval starting, decided, timing out, cancelled, rerouted by
 * onFailure or reset by a retry), never adjusted by ±1: a wait that ends without a decision would
 * otherwise stay counted.
 */
import type { Projection, Writer } from '../../kernel/module.ts';
import type { EventEnvelope } from '../../kernel/log/envelope.ts';
import type { EventPayload } from './events.ts';

const CREATE = `
  CREATE TABLE workflows (
    workspace_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    version     TEXT NOT NULL,
    hash        TEXT NOT NULL,
    source      TEXT NOT NULL,
    description TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    PRIMARY KEY (workspace_id, name, revision)
  ) STRICT;
  CREATE TABLE workflow_names (
    workspace_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    latest   INTEGER NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, name)
  ) STRICT;
  CREATE TABLE sessions (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    project_id       TEXT,
    owner_device     TEXT NOT NULL,
    workflow_name    TEXT NOT NULL,
    workflow_version TEXT NOT NULL,
    workflow_hash    TEXT NOT NULL,
    source           TEXT NOT NULL,
    status           TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    output           TEXT,
    error            TEXT,
    failed_step      TEXT,
    parent_id        TEXT,
    parent_step      TEXT,
    fork_of          TEXT,
    fork_step        TEXT,
    started_at       TEXT NOT NULL,
    ended_at         TEXT,
    updated_at       TEXT NOT NULL,
    first_seq        INTEGER NOT NULL,
    last_seq         INTEGER NOT NULL,
    steps_done       INTEGER NOT NULL DEFAULT 0,
    waiting          INTEGER NOT NULL DEFAULT 0
  ) STRICT;
  CREATE INDEX sessions_status ON sessions (status, started_at);
  CREATE INDEX sessions_started ON sessions (started_at);
  CREATE INDEX sessions_parent ON sessions (parent_id);
  CREATE INDEX sessions_workspace ON sessions (workspace_id, started_at);
  CREATE INDEX sessions_workspace_workflow ON sessions (workspace_id, workflow_name);
  CREATE INDEX sessions_project ON sessions (project_id, started_at) WHERE project_id IS NOT NULL;
  CREATE TABLE session_steps (
    session_id  TEXT NOT NULL,
    key         TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    runner      TEXT,
    started_at  TEXT,
    ended_at    TEXT,
    due_at      INTEGER,
    output      TEXT,
    artifact    TEXT,
    branch      TEXT,
    error       TEXT,
    child_id    TEXT,
    approval    TEXT,
    reason      TEXT,
    PRIMARY KEY (session_id, key)
  ) STRICT;
`;

const ACTIVE_STEP = "('scheduled','running','waiting','retrying')";

export const sessionsProjection: Projection = {
  name: 'sessions',
  // 2: workspace_id on workflows, workflow_names and sessions (workspace scope); sessions.project_id.
  // 3: sessions.owner_device (the device that started it runs it).
  // 4: sessions.waiting counted from the steps (it was not lowered when a waiting approval timed out, was rerouted, cancelled or retried).
  version: 4,
  tables: ['workflows', 'workflow_names', 'sessions', 'session_steps'],
  createSql: CREATE,
  apply(e: EventEnvelope, w: Writer): void {
    const p = e.payload as Record<string, unknown>;
    if (e.type === 'workflow.saved') return saved(p as EventPayload<'workflow.saved'>, e.at, w);
    if (e.type === 'workflow.archived') {
      w.run('UPDATE workflow_names SET archived = 1 WHERE workspace_id = ? AND name = ?', [String(p['workspaceId']), String(p['name'])]);
      return;
    }
    if (!e.stream.startsWith('session:')) return;
    const id = e.stream.slice('session:'.length);
    if (e.type === 'session.started') return started(id, p as EventPayload<'session.started'>, e, w);
    w.run('UPDATE sessions SET updated_at = ?, last_seq = ? WHERE id = ?', [e.at, e.seq, id]);
    const step = typeof p['step'] === 'string' ? p['step'] : undefined;
    switch (e.type) {
      case 'step.scheduled':
        return upsertStep(w, id, step!, 'scheduled', e.at);
      case 'step.started': {
        const q = p as EventPayload<'step.started'>;
        const waiting = q.wakeAt !== undefined || q.approval !== undefined || q.child !== undefined;
        upsertStep(w, id, q.step, waiting ? 'waiting' : 'running', e.at);
        w.run(`UPDATE session_steps SET attempt = ?, attempts = attempts + 1, runner = ?, started_at = ?, ended_at = NULL, error = NULL,
                 due_at = ?, child_id = ?, approval = ? WHERE session_id = ? AND key = ?`,
          [q.attempt, q.runner ?? null, e.at, q.wakeAt ?? null, q.child?.sessionId ?? null, q.approval ? JSON.stringify(q.approval) : null, id, q.step]);
        countWaiting(w, id);
        return;
      }
      case 'step.succeeded': {
        const q = p as EventPayload<'step.succeeded'>;
        endStep(w, id, q.step, 'succeeded', e.at);
        w.run('UPDATE session_steps SET output = ?, artifact = ?, branch = ? WHERE session_id = ? AND key = ?',
          [q.output === undefined ? null : JSON.stringify(q.output), q.artifact ? JSON.stringify(q.artifact) : null, q.branch ?? null, id, q.step]);
        if (!q.step.includes('@')) w.run('UPDATE sessions SET steps_done = steps_done + 1 WHERE id = ?', [id]);
        return;
      }
      case 'step.failed': {
        const q = p as EventPayload<'step.failed'>;
        endStep(w, id, q.step, q.willRetry ? 'retrying' : 'failed', e.at);
        w.run('UPDATE session_steps SET error = ? WHERE session_id = ? AND key = ?', [JSON.stringify(q.error), id, q.step]);
        countWaiting(w, id);
        return;
      }
      case 'step.retry_scheduled': {
        const q = p as EventPayload<'step.retry_scheduled'>;
        w.run("UPDATE session_steps SET status = 'retrying', due_at = ? WHERE session_id = ? AND key = ?", [q.dueAt, id, q.step]);
        return;
      }
      case 'step.skipped':
      case 'step.cancelled': {
        const status = e.type === 'step.skipped' ? 'skipped' : 'cancelled';
        upsertStep(w, id, step!, status, e.at);
        endStep(w, id, step!, status, e.at);
        w.run('UPDATE session_steps SET reason = ? WHERE session_id = ? AND key = ?', [String(p['reason'] ?? ''), id, step!]);
        countWaiting(w, id);
        return;
      }
      case 'step.rerouted':
      case 'session.retried':
        for (const k of (p['reset'] as string[])) {
          w.run(`UPDATE session_steps SET status = 'pending', started_at = NULL, ended_at = NULL, output = NULL, artifact = NULL,
                   branch = NULL, error = NULL, due_at = NULL, child_id = NULL, approval = NULL, reason = NULL
                 WHERE session_id = ? AND key = ?`, [id, k]);
        }
        w.run("UPDATE sessions SET steps_done = (SELECT count(*) FROM session_steps WHERE session_id = ?1 AND status = 'succeeded' AND key NOT LIKE '%@%') WHERE id = ?1", [id]);
        if (e.type === 'session.retried') w.run("UPDATE sessions SET status = 'running', error = NULL, failed_step = NULL, ended_at = NULL WHERE id = ?", [id]);
        countWaiting(w, id);
        return;
      case 'approval.decided':
        w.run("UPDATE session_steps SET approval = json_set(approval, '$.decided', json(?)) WHERE session_id = ? AND key = ?",
          [JSON.stringify({ approved: p['approved'], comment: p['comment'], by: p['by'], at: e.at }), id, step!]);
        countWaiting(w, id);
        return;
      case 'session.paused':
        w.run("UPDATE sessions SET status = 'paused' WHERE id = ?", [id]);
        return;
      case 'session.resumed':
        w.run("UPDATE sessions SET status = 'running' WHERE id = ?", [id]);
        return;
      case 'session.cancelled':
        w.run("UPDATE sessions SET status = 'cancelled', ended_at = ? WHERE id = ?", [e.at, id]);
        return;
      case 'session.succeeded':
        w.run("UPDATE sessions SET status = 'succeeded', output = ?, ended_at = ? WHERE id = ?", [JSON.stringify(p['output'] ?? null), e.at, id]);
        return;
      case 'session.failed':
        w.run("UPDATE sessions SET status = 'failed', error = ?, failed_step = ?, ended_at = ? WHERE id = ?",
          [JSON.stringify(p['error']), (p['step'] as string | undefined) ?? null, e.at, id]);
        return;
      case 'session.migrated': {
        const q = p as EventPayload<'session.migrated'>;
        w.run('UPDATE sessions SET workflow_version = ?, workflow_hash = ?, source = ? WHERE id = ?', [q.workflow.version, q.workflow.hash, q.source, id]);
        return;
      }
      default:
        return;
    }
  },
};

function saved(p: EventPayload<'workflow.saved'>, at: string, w: Writer): void {
  // The revision is the save's rank in merge order, not the writer's guess (p.revision): two
  // devices saving the same name concurrently both wrote "next"; both become revisions, the later
  // in merge order the latest. On one device the two are always equal.
  const revision = Number(w.value('SELECT COALESCE(MAX(revision), 0) + 1 FROM workflows WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]));
  w.run('INSERT INTO workflows (workspace_id, name, revision, version, hash, source, description, saved_at) VALUES (?,?,?,?,?,?,?,?)',
    [p.workspaceId, p.name, revision, p.version, p.hash, p.source, p.description, at]);
  w.run(`INSERT INTO workflow_names (workspace_id, name, latest, archived) VALUES (?, ?, ?, 0)
         ON CONFLICT (workspace_id, name) DO UPDATE SET latest = excluded.latest, archived = 0`, [p.workspaceId, p.name, revision]);
}

function started(id: string, p: EventPayload<'session.started'>, e: EventEnvelope, w: Writer): void {
  w.run(`INSERT INTO sessions (id, workspace_id, project_id, owner_device, workflow_name, workflow_version, workflow_hash, source, status, inputs, parent_id, parent_step,
           fork_of, fork_step, started_at, updated_at, first_seq, last_seq) VALUES (?,?,?,?,?,?,?,?,'running',?,?,?,?,?,?,?,?,?)`,
    [id, p.workspaceId, p.projectId ?? null, e.device, p.workflow.name, p.workflow.version, p.workflow.hash, p.source, JSON.stringify(p.inputs), p.parent?.sessionId ?? null,
      p.parent?.step ?? null, p.forkOf?.sessionId ?? null, p.forkOf?.fromStep ?? null, e.at, e.at, e.seq, e.seq]);
  for (const c of p.carried ?? []) {
    w.run(`INSERT INTO session_steps (session_id, key, status, attempt, attempts, started_at, ended_at, output, artifact, branch, reason)
           VALUES (?,?,?,?,0,?,?,?,?,?,'carried from the forked session')`,
      [id, c.step, c.status, c.attempt, e.at, e.at, c.output === undefined ? null : JSON.stringify(c.output),
        c.artifact ? JSON.stringify(c.artifact) : null, c.branch ?? null]);
  }
  w.run("UPDATE sessions SET steps_done = (SELECT count(*) FROM session_steps WHERE session_id = ?1 AND status = 'succeeded') WHERE id = ?1", [id]);
}

function upsertStep(w: Writer, id: string, key: string, status: string, at: string): void {
  w.run(`INSERT INTO session_steps (session_id, key, status, attempt, attempts, started_at) VALUES (?, ?, ?, 0, 0, ?)
         ON CONFLICT (session_id, key) DO UPDATE SET status = excluded.status`, [id, key, status, at]);
}

/** `sessions.waiting` = the session's steps waiting for a person's decision now. */
function countWaiting(w: Writer, id: string): void {
  w.run(`UPDATE sessions SET waiting = (SELECT count(*) FROM session_steps WHERE session_id = ?1 AND status = 'waiting'
           AND approval IS NOT NULL AND json_extract(approval, '$.decided') IS NULL) WHERE id = ?1`, [id]);
}

function endStep(w: Writer, id: string, key: string, status: string, at: string): void {
  w.run('UPDATE session_steps SET status = ?, ended_at = ? WHERE session_id = ? AND key = ?', [status, at, id, key]);
}

export { ACTIVE_STEP };

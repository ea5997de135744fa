/**
 * Queries of the workflow library and of sessions, including time travel: the state of a session
 * folded from its own events up to any seq.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import type { Json } from '../../kernel/errors.ts';
import { workflowCode } from '../../workflow/code.ts';
import { manifestCode } from '../../manifests/code.ts';
import { installedNamed, namedWarnings } from './named.ts';
import { foldSession, stateToJson, type FoldEvent } from './fold.ts';
import { sessionStream } from './events.ts';
import { asOriginal } from '../../kernel/workspace-file/imported.ts';
import { workspaceField } from '../workspaces/scope.ts';
import { sessionName } from './numbers.ts';
import type { SessionDetail, SessionStateAnswer, SessionSummary, WorkflowRevision, WorkflowSummary } from './answers.ts';

const parseJson = (v: unknown): Json => (typeof v === 'string' ? (JSON.parse(v) as Json) : null);

function sessionSummary(row: Record<string, unknown>): Json {
  const number = row['run_number'] === null || row['run_number'] === undefined ? null : Number(row['run_number']);
  return {
    id: String(row['id']), workspaceId: String(row['workspace_id']), projectId: (row['project_id'] as string | null) ?? null, workflow: { name: String(row['workflow_name']), version: String(row['workflow_version']), hash: String(row['workflow_hash']) },
    status: String(row['status']), inputs: parseJson(row['inputs']), output: parseJson(row['output']), error: parseJson(row['error']),
    failedStep: (row['failed_step'] as string | null) ?? null, parentId: (row['parent_id'] as string | null) ?? null,
    parentStep: (row['parent_step'] as string | null) ?? null, forkOf: (row['fork_of'] as string | null) ?? null, forkStep: (row['fork_step'] as string | null) ?? null,
    startedAt: String(row['started_at']), endedAt: (row['ended_at'] as string | null) ?? null, updatedAt: String(row['updated_at']),
    stepsDone: Number(row['steps_done']), waiting: Number(row['waiting']), firstSeq: Number(row['first_seq']), lastSeq: Number(row['last_seq']),
    number, name: sessionName(String(row['workflow_name']), number),
  };
}

const SESSION_COLS = `id, workspace_id, project_id, workflow_name, workflow_version, workflow_hash, status, inputs, output, error, failed_step, parent_id, parent_step,
  fork_of, fork_step, started_at, ended_at, updated_at, steps_done, waiting, first_seq, last_seq,
  (SELECT number FROM session_numbers n WHERE n.session_id = sessions.id) AS run_number`;

export function sessionEvents(r: Reader, id: string, uptoSeq?: number): (FoldEvent & { type: string; at: string })[] {
  const rows = r.all(`SELECT seq, stream_seq, type, at, payload FROM events WHERE stream = ? ${uptoSeq !== undefined ? 'AND seq <= ?' : ''} ORDER BY stream_seq`,
    uptoSeq !== undefined ? [sessionStream(id), uptoSeq] : [sessionStream(id)]);
  // An imported copy's stream holds its originals wrapped (decision 40): read as the originals.
  return rows.map((x) => ({ seq: Number(x['seq']), streamSeq: Number(x['stream_seq']), ...asOriginal(String(x['type']), String(x['at']), JSON.parse(String(x['payload']))) }));
}

export const queries = defineQueries([
  {
    name: 'workflow.list',
    description: "A workspace's workflow library: the latest revision of each name, with revision and session counts.",
    schema: z.strictObject({ workspaceId: workspaceField, includeArchived: z.boolean().optional() }),
    run: (r, p: { workspaceId: string; includeArchived?: boolean }) => r.all(`
      SELECT w.name, w.version, w.revision, w.hash, w.description, w.saved_at AS savedAt, n.archived,
        (SELECT count(*) FROM sessions s WHERE s.workspace_id = n.workspace_id AND s.workflow_name = w.name) AS sessions
      FROM workflow_names n JOIN workflows w ON w.workspace_id = n.workspace_id AND w.name = n.name AND w.revision = n.latest
      WHERE n.workspace_id = ? ${p.includeArchived ? '' : 'AND n.archived = 0'} ORDER BY w.name`, [p.workspaceId]).map((x) => ({ ...x, archived: Boolean(x['archived']) })) as unknown as WorkflowSummary[],
  },
  {
    name: 'workflow.get',
    description: 'One revision of a workflow of a workspace (the latest by default), with its YAML source.',
    schema: z.strictObject({ workspaceId: workspaceField, name: z.string(), revision: z.number().int().positive().optional() }),
    run: (r, p: { workspaceId: string; name: string; revision?: number }) => r.get(`SELECT name, version, revision, hash, description, source, saved_at AS savedAt FROM workflows
      WHERE workspace_id = ? AND name = ? ${p.revision ? 'AND revision = ?' : 'ORDER BY revision DESC LIMIT 1'}`, p.revision ? [p.workspaceId, p.name, p.revision] : [p.workspaceId, p.name]) as unknown as WorkflowRevision | undefined ?? null,
  },
  {
    name: 'workflow.revisions',
    description: 'Every saved revision of a workflow of a workspace, newest first.',
    schema: z.strictObject({ workspaceId: workspaceField, name: z.string() }),
    run: (r, p: { workspaceId: string; name: string }) => r.all('SELECT name, version, revision, hash, description, saved_at AS savedAt FROM workflows WHERE workspace_id = ? AND name = ? ORDER BY revision DESC', [p.workspaceId, p.name]) as unknown as WorkflowRevision[],
  },
  {
    name: 'workflow.validate',
    description: 'Parse and validate YAML without saving: the normalised workflow and hash, or every issue with line and column.',
    schema: z.strictObject({ source: z.string().max(256 * 1024) }),
    run: (_r, p: { source: string }) => workflowCode.get().parseWorkflow(p.source),
    needs: [workflowCode],
  },
  {
    name: 'workflow.canonical',
    description: "The workflow written as canonical Kingdom YAML (the spec's llm:/task:/condition: blocks read into flat steps, keys in the schema's order, comments kept): the same hash; or why not.",
    schema: z.strictObject({ source: z.string().max(256 * 1024) }),
    run: (_r, p: { source: string }) => workflowCode.get().canonicalYaml(p.source),
    needs: [workflowCode],
  },
  {
    name: 'workflow.check',
    description: "workflow.validate against a workspace (the editor's check): the same answer, with execution by name's issues added as warnings — a task runner that is neither built in nor an installed Tool, a Tool's parameters given wrongly, an Agent that is not installed, env.X that `env` (the env a start would give; absent: unknown) does not set. session.start refuses the same runner, parameter and Agent issues.",
    schema: z.strictObject({ workspaceId: workspaceField, source: z.string().max(256 * 1024), env: z.record(z.string(), z.json()).optional() }),
    run: (r, p: { workspaceId: string; source: string; env?: { [k: string]: Json } }, ctx) => {
      const res = workflowCode.get().parseWorkflow(p.source);
      if (!res.ok) return res;
      const named = namedWarnings(p.source, res.workflow, installedNamed(r, p.workspaceId), ctx.runners, p.env);
      return { ...res, warnings: [...res.warnings, ...named].sort((a, b) => a.line - b.line || a.column - b.column) };
    },
    needs: [workflowCode, manifestCode],
  },
  {
    name: 'workflow.schema',
    description: 'The JSON Schema of the workflow file format.',
    schema: z.strictObject({}),
    run: () => workflowCode.get().workflowJsonSchema(),
    needs: [workflowCode],
  },
  {
    name: 'session.list',
    description: "A workspace's sessions, newest first; filter by status ('waiting': running or paused with an approval pending), workflow name, project, parent session or text in the name (\"deploy #12\") or id.",
    schema: z.strictObject({ workspaceId: workspaceField, status: z.string().optional(), workflow: z.string().optional(), projectId: z.string().optional(), parentId: z.string().optional(), text: z.string().max(200).optional(), limit: z.number().int().min(1).max(1000).optional() }),
    run: (r, p: { workspaceId: string; status?: string; workflow?: string; projectId?: string; parentId?: string; text?: string; limit?: number }) => {
      const where: string[] = ['workspace_id = ?'];
      const args: (string | number)[] = [p.workspaceId];
      if (p.projectId) { where.push('project_id = ?'); args.push(p.projectId); }
      if (p.status === 'waiting') where.push("waiting > 0 AND status IN ('running', 'paused')");
      else if (p.status) { where.push('status = ?'); args.push(p.status); }
      if (p.workflow) { where.push('workflow_name = ?'); args.push(p.workflow); }
      if (p.parentId) { where.push('parent_id = ?'); args.push(p.parentId); }
      if (p.text?.trim()) {
        const like = `%${p.text.trim().toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
        where.push(`(lower(workflow_name || ' #' || COALESCE((SELECT number FROM session_numbers n WHERE n.session_id = sessions.id), '')) LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')`);
        args.push(like, like);
      }
      args.push(p.limit ?? 200);
      return r.all(`SELECT ${SESSION_COLS} FROM sessions WHERE ${where.join(' AND ')} ORDER BY started_at DESC, id DESC LIMIT ?`, args).map(sessionSummary) as unknown as SessionSummary[];
    },
  },
  {
    name: 'session.get',
    description: 'One session: summary, pinned source and every step row (status, attempts, times, output, error).',
    schema: z.strictObject({ sessionId: z.string() }),
    run: (r, p: { sessionId: string }): SessionDetail | null => {
      const row = r.get(`SELECT ${SESSION_COLS}, source FROM sessions WHERE id = ?`, [p.sessionId]);
      if (!row) return null;
      const steps = r.all('SELECT * FROM session_steps WHERE session_id = ? ORDER BY started_at, key', [p.sessionId]).map((x) => ({
        key: String(x['key']), status: String(x['status']), attempt: Number(x['attempt']), attempts: Number(x['attempts']), runner: x['runner'] ?? null,
        startedAt: x['started_at'] ?? null, endedAt: x['ended_at'] ?? null, dueAt: x['due_at'] ?? null, output: parseJson(x['output']),
        artifact: parseJson(x['artifact']), branch: x['branch'] ?? null, error: parseJson(x['error']), childId: x['child_id'] ?? null,
        approval: parseJson(x['approval']), reason: x['reason'] ?? null,
      }));
      return { ...(sessionSummary(row) as object), source: String(row['source']), steps } as unknown as SessionDetail;
    },
  },
  {
    name: 'session.state',
    description: 'Time travel: the session state folded from its events up to atSeq (default: now), plus the list of its events and the device that runs it.',
    schema: z.strictObject({ sessionId: z.string(), atSeq: z.number().int().nonnegative().optional() }),
    run: (r, p: { sessionId: string; atSeq?: number }): SessionStateAnswer | null => {
      const events = sessionEvents(r, p.sessionId);
      const state = foldSession(events, p.atSeq);
      const owner = r.value('SELECT owner_device FROM sessions WHERE id = ?', [p.sessionId]);
      return state ? {
        state: stateToJson(state) as unknown as SessionStateAnswer['state'], owner: typeof owner === 'string' ? owner : null,
        events: events.map((e) => ({ seq: e.seq, streamSeq: e.streamSeq, type: e.type, at: e.at, step: (e.payload as { step?: string }).step ?? null })),
      } : null;
    },
  },
  {
    name: 'artifact.get',
    description: 'A content-addressed artifact (large step output) by its SHA-256.',
    schema: z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/) }),
    run: (r, p: { hash: string }) => {
      const row = r.get('SELECT hash, size, media_type, data, created_at FROM blobs WHERE hash = ?', [p.hash]);
      if (!row) return null;
      const provenance = r.get("SELECT payload FROM events WHERE type = 'artifact.stored' AND json_extract(payload, '$.hash') = ? ORDER BY seq LIMIT 1", [p.hash]);
      return { hash: p.hash, size: Number(row['size']), mediaType: String(row['media_type']), data: JSON.parse(String(row['data'])) as Json, provenance: provenance ? JSON.parse(String(provenance['payload'])) as Json : null };
    },
  },
]);

/**
 * Narrow reads of the sessions slice for other parts of Kingdom (the engine, its agent's workflow
 * tool, learning), so none of them reads this slice's tables or stream with SQL.
 *
 * Invariants:
 * 1. Each answers from this slice's own tables (`sessions`, `workflows`, `workflow_names`) or its
 *    own streams (`session:<id>`) and the kernel's artifact store (`blobs`), never another slice's.
 * 2. Cheap enough for the engine's planning loop: one indexed read each, no provenance scans.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import type { Json } from '../../kernel/errors.ts';
import { resolveWorkflowSource } from './workflow-source.ts';
import { sessionStream } from './events.ts';
import { asOriginal } from '../../kernel/workspace-file/imported.ts';
import type { StepErrorData } from './events.ts';

const sessionId = z.string().min(1).max(200);
const parseJson = (v: unknown): Json | undefined => (typeof v === 'string' ? (JSON.parse(v) as Json) : undefined);

export interface SessionOutcome {
  readonly status: string;
  readonly workspaceId: string;
  readonly parentId: string | null;
  readonly output?: Json;
  readonly error?: StepErrorData;
}

function outcome(r: Reader, id: string): SessionOutcome | null {
  const row = r.get('SELECT status, workspace_id, output, error, parent_id FROM sessions WHERE id = ?', [id]);
  if (!row) return null;
  const output = parseJson(row['output']);
  const error = parseJson(row['error']) as StepErrorData | undefined;
  return {
    status: String(row['status']),
    workspaceId: String(row['workspace_id']),
    parentId: typeof row['parent_id'] === 'string' ? row['parent_id'] : null,
    ...(output !== undefined ? { output } : {}),
    ...(error !== undefined ? { error } : {}),
  };
}

export const lookupQueries = defineQueries([
  {
    name: 'session.outcome',
    description: 'A session\'s status, parent and (once ended) output or error, or null: the cheap read the engine plans with.',
    schema: z.strictObject({ sessionId }),
    run: (r, p: { sessionId: string }): SessionOutcome | null => outcome(r, p.sessionId),
  },
  {
    name: 'session.events',
    description: 'The events of one session\'s stream in order (seq, streamSeq, type, at, payload), up to uptoSeq; at most `limit` (default all).',
    schema: z.strictObject({ sessionId, uptoSeq: z.number().int().nonnegative().optional(), limit: z.number().int().min(1).optional() }),
    run: (r, p: { sessionId: string; uptoSeq?: number; limit?: number }) => {
      const args: number[] = [];
      if (p.uptoSeq !== undefined) args.push(p.uptoSeq);
      if (p.limit !== undefined) args.push(p.limit);
      const rows = r.all(`SELECT seq, stream_seq, type, at, payload FROM events WHERE stream = ? ${p.uptoSeq !== undefined ? 'AND seq <= ?' : ''}
        ORDER BY stream_seq ${p.limit !== undefined ? 'LIMIT ?' : ''}`, [sessionStream(p.sessionId), ...args]);
      return rows.map((x) => ({ seq: Number(x['seq']), streamSeq: Number(x['stream_seq']), ...asOriginal(String(x['type']), String(x['at']), JSON.parse(String(x['payload']))) }));
    },
  },
  {
    name: 'session.active',
    description: 'Ids of running and paused sessions, oldest first, of every workspace; with parentId (and parentStep), only that session\'s (step\'s) children; with owners, only sessions those devices own.',
    schema: z.strictObject({ parentId: sessionId.optional(), parentStep: z.string().min(1).optional(), owners: z.array(z.string().min(1)).min(1).optional() }),
    run: (r, p: { parentId?: string; parentStep?: string; owners?: string[] }): string[] => {
      const where = ["status IN ('running', 'paused')"];
      const args: string[] = [];
      if (p.parentId !== undefined) { where.push('parent_id = ?'); args.push(p.parentId); }
      if (p.parentStep !== undefined) { where.push('parent_step = ?'); args.push(p.parentStep); }
      if (p.owners !== undefined) { where.push(`owner_device IN (${p.owners.map(() => '?').join(',')})`); args.push(...p.owners); }
      return r.all(`SELECT id FROM sessions WHERE ${where.join(' AND ')} ORDER BY started_at`, args).map((x) => String(x['id']));
    },
  },
  {
    name: 'session.ended',
    description: 'The most recently ended (succeeded or failed) sessions that the given devices own, of every workspace, newest first: ids with their workspace.',
    schema: z.strictObject({ owners: z.array(z.string().min(1)).min(1), limit: z.number().int().min(1).max(10_000) }),
    run: (r, p: { owners: string[]; limit: number }): { id: string; workspaceId: string }[] =>
      r.all(`SELECT id, workspace_id FROM sessions WHERE status IN ('succeeded', 'failed') AND owner_device IN (${p.owners.map(() => '?').join(',')})
        ORDER BY ended_at DESC LIMIT ?`, [...p.owners, p.limit]).map((x) => ({ id: String(x['id']), workspaceId: String(x['workspace_id']) })),
  },
  {
    name: 'session.owner',
    description: 'The device that owns a session (started it and runs it), or null.',
    schema: z.strictObject({ sessionId }),
    run: (r, p: { sessionId: string }): string | null => {
      const v = r.value('SELECT owner_device FROM sessions WHERE id = ?', [p.sessionId]);
      return typeof v === 'string' ? v : null;
    },
  },
  {
    name: 'workflow.resolve',
    description: 'The YAML source a workflow reference names (`name` for the latest revision, `name@version`), or null.',
    schema: z.strictObject({ workspaceId: z.string().min(1), ref: z.string().min(1).max(400) }),
    run: (r, p: { workspaceId: string; ref: string }): { source: string } | null => resolveWorkflowSource(r, p.workspaceId, p.ref) ?? null,
  },
  {
    name: 'artifact.data',
    description: 'Only the data of a content-addressed artifact (no provenance), or null.',
    schema: z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/) }),
    run: (r, p: { hash: string }): Json | null => {
      const data = r.value('SELECT data FROM blobs WHERE hash = ?', [p.hash]);
      return typeof data === 'string' ? (JSON.parse(data) as Json) : null;
    },
  },
]);

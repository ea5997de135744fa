/**
 * Commands of the workflow library and of sessions. Each `decide` is pure: it parses the pinned
 * definition (deterministic) and reads state the `load` step took from the projections.
 */
import { z } from 'zod';
import { defineCommands, type CommandDefinition, type Decision, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { parseWorkflow, validateInputs, type Workflow } from '../../workflow/index.ts';
import { SESSION_EVENT_TYPES, sessionStream, workflowStream, type CarriedStep, type SessionEventType } from './events.ts';
import { downstream } from './support.ts';
import { ACTIVE_STEP } from './projection.ts';

const sessionId = z.string().min(1).max(200);
const jsonRecord = z.record(z.string(), z.json());

const schemas = {
  save: z.strictObject({ source: z.string().min(1).max(256 * 1024) }),
  archive: z.strictObject({ name: z.string().min(1) }),
  start: z.strictObject({
    workflow: z.string().min(1).max(200).optional(),
    source: z.string().min(1).max(256 * 1024).optional(),
    inputs: jsonRecord.optional(),
    env: jsonRecord.optional(),
  }),
  startChild: z.strictObject({
    sessionId, workflow: z.string(), inputs: jsonRecord, env: jsonRecord,
    parent: z.strictObject({ sessionId, step: z.string(), attempt: z.number().int().positive() }),
  }),
  ref: z.strictObject({ sessionId, reason: z.string().max(2000).optional() }),
  decide: z.strictObject({ sessionId, step: z.string().min(1), comment: z.string().max(10_000).optional() }),
  rerun: z.strictObject({ sessionId, fromStep: z.string().min(1) }),
  migrate: z.strictObject({ sessionId, source: z.string().min(1).max(256 * 1024), reason: z.string().min(1).max(2000) }),
  record: z.strictObject({
    sessionId,
    // Each payload is checked against its event type's strict schema when it is appended.
    events: z.array(z.strictObject({ type: z.string(), payload: z.unknown() })).min(1).max(10_000),
    blobs: z.array(z.strictObject({ hash: z.string(), mediaType: z.string(), data: z.string() })).optional(),
  }),
};

interface SessionRow {
  id: string; status: string; source: string; inputs: string; workflow_name: string; workflow_hash: string; workflow_version: string;
}
interface StepRow { key: string; status: string; attempt: number; output: string | null; artifact: string | null; branch: string | null; child_id: string | null; approval: string | null }

function sessionRow(r: Reader, id: string): SessionRow | undefined {
  return r.get('SELECT id, status, source, inputs, workflow_name, workflow_hash, workflow_version FROM sessions WHERE id = ?', [id]) as SessionRow | undefined;
}

function stepRows(r: Reader, id: string, where = ''): StepRow[] {
  return r.all(`SELECT key, status, attempt, output, artifact, branch, child_id, approval FROM session_steps WHERE session_id = ? ${where}`, [id]) as unknown as StepRow[];
}

function stepRow(r: Reader, id: string, key: string): StepRow | undefined {
  return r.get('SELECT key, status, attempt, output, artifact, branch, child_id, approval FROM session_steps WHERE session_id = ? AND key = ?', [id, key]) as StepRow | undefined;
}

function mustSession(row: SessionRow | undefined, id: string): SessionRow {
  if (!row) throw new KernelError('not_found', `There is no session ${id}.`, { sessionId: id });
  return row;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Resolve `name` (latest revision) or `name@version` (its latest revision) in the library. */
export function resolveWorkflowSource(r: Reader, ref: string): { source: string } | undefined {
  const at = ref.lastIndexOf('@');
  const name = at > 0 ? ref.slice(0, at) : ref;
  const version = at > 0 ? ref.slice(at + 1) : undefined;
  const row = version === undefined
    ? r.get('SELECT w.source FROM workflows w JOIN workflow_names n ON n.name = w.name AND n.latest = w.revision WHERE w.name = ?', [name])
    : r.get('SELECT source FROM workflows WHERE name = ? AND version = ? ORDER BY revision DESC LIMIT 1', [name, version]);
  return row ? { source: String(row['source']) } : undefined;
}

/** Parsing is pure, so results are memoised by source text (bounded): 1,000 starts parse once. */
const parseCache = new Map<string, ReturnType<typeof parseWorkflow>>();

function parseCached(source: string): ReturnType<typeof parseWorkflow> {
  let res = parseCache.get(source);
  if (!res) {
    res = parseWorkflow(source);
    if (parseCache.size >= 64) parseCache.delete(parseCache.keys().next().value!);
    parseCache.set(source, res);
  }
  return res;
}

function parsed(source: string): { workflow: Workflow; hash: string } {
  const res = parseCached(source);
  if (!res.ok) {
    const first = res.errors[0]!;
    throw new KernelError('invalid_workflow', `The workflow has ${res.errors.length} problem(s); first: line ${first.line}:${first.column} ${first.path}: ${first.message}`,
      { issues: res.errors as unknown as Json });
  }
  return { workflow: res.workflow, hash: res.hash };
}

function startDecision(id: string, source: string, inputs: unknown, env: { [k: string]: Json }, extra: { [k: string]: Json } = {}): Decision {
  const { workflow, hash } = parsed(source);
  const checked = validateInputs(workflow, inputs);
  if (!checked.ok) {
    throw new KernelError('invalid_inputs', `Inputs of ${workflow.name}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      { issues: checked.errors as unknown as Json });
  }
  return {
    events: [{
      stream: sessionStream(id), type: 'session.started',
      payload: { sessionId: id, workflow: { name: workflow.name, version: workflow.version, hash }, source, inputs: checked.value, env, ...extra },
    }],
    value: { sessionId: id },
  };
}

const one = (id: string, type: SessionEventType, payload: Json): Decision => ({ events: [{ stream: sessionStream(id), type, payload }], value: { sessionId: id } });

function active(row: SessionRow): void {
  if (TERMINAL.has(row.status)) throw new KernelError('invalid_state', `Session ${row.id} already ${row.status}.`, { sessionId: row.id, status: row.status });
}

export const commands = defineCommands([
  {
    type: 'workflow.save',
    description: 'Save a workflow definition (YAML) as the next revision of its name; an unchanged definition saves nothing.',
    schema: schemas.save, mutates: true,
    load: (r, p: z.infer<typeof schemas.save>) => {
      const res = parseCached(p.source);
      const latest = res.ok ? r.get('SELECT w.revision, w.hash FROM workflows w JOIN workflow_names n ON n.name = w.name AND n.latest = w.revision WHERE w.name = ?', [res.workflow.name]) : undefined;
      return { latest };
    },
    decide: (st: { latest?: { revision: number; hash: string } }, p: z.infer<typeof schemas.save>): Decision => {
      const { workflow, hash } = parsed(p.source);
      const prev = st.latest;
      if (prev && prev.hash === hash) return { events: [], value: { name: workflow.name, revision: prev.revision, hash, unchanged: true } };
      const revision = (prev?.revision ?? 0) + 1;
      return {
        events: [{ stream: workflowStream(workflow.name), type: 'workflow.saved', payload: { name: workflow.name, version: workflow.version, revision, hash, source: p.source, description: workflow.description ?? '' } }],
        value: { name: workflow.name, revision, hash, unchanged: false },
      };
    },
  },
  {
    type: 'workflow.archive',
    description: 'Hide a workflow from the library (sessions that pinned it keep running).',
    schema: schemas.archive, mutates: true,
    load: (r, p: z.infer<typeof schemas.archive>) => r.get('SELECT archived FROM workflow_names WHERE name = ?', [p.name]),
    decide: (row: { archived: number } | undefined, p: z.infer<typeof schemas.archive>): Decision => {
      if (!row) throw new KernelError('not_found', `There is no workflow named ${p.name}.`, { name: p.name });
      if (row.archived) return { events: [], value: { name: p.name } };
      return { events: [{ stream: workflowStream(p.name), type: 'workflow.archived', payload: { name: p.name } }], value: { name: p.name } };
    },
  },
  {
    type: 'session.start',
    description: 'Start a session of a saved workflow (`name` or `name@version`) or of an inline YAML source, with inputs.',
    schema: schemas.start, mutates: true,
    load: (r, p: z.infer<typeof schemas.start>) => (p.workflow !== undefined ? resolveWorkflowSource(r, p.workflow) : undefined),
    decide: (found: { source: string } | undefined, p: z.infer<typeof schemas.start>, ctx): Decision => {
      if ((p.workflow === undefined) === (p.source === undefined)) throw new KernelError('invalid_payload', 'session.start: give exactly one of workflow (a saved name) or source (YAML).', { field: 'workflow' });
      if (p.workflow !== undefined && !found) throw new KernelError('not_found', `There is no saved workflow ${p.workflow}; save it first or pass source.`, { workflow: p.workflow });
      return startDecision(ctx.newId(), found?.source ?? p.source!, p.inputs, p.env ?? {});
    },
  },
  {
    type: 'session.start_child',
    description: 'Start the child session of a `workflow` step (engine only).',
    schema: schemas.startChild, mutates: true, internal: true,
    load: (r, p: z.infer<typeof schemas.startChild>) => resolveWorkflowSource(r, p.workflow),
    decide: (found: { source: string } | undefined, p: z.infer<typeof schemas.startChild>): Decision => {
      if (!found) throw new KernelError('not_found', `There is no saved workflow ${p.workflow}.`, { workflow: p.workflow });
      return startDecision(p.sessionId, found.source, p.inputs, p.env, { parent: p.parent });
    },
  },
  {
    type: 'session.pause',
    description: 'Pause a session: running steps finish and are recorded, nothing new starts, timers wait.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => sessionRow(r, p.sessionId),
    decide: (row: SessionRow | undefined, p: z.infer<typeof schemas.ref>): Decision => {
      const s = mustSession(row, p.sessionId);
      active(s);
      if (s.status === 'paused') return { events: [], value: { sessionId: s.id } };
      return one(s.id, 'session.paused', { reason: p.reason ?? '' });
    },
  },
  {
    type: 'session.resume',
    description: 'Resume a paused session; timers that fell due meanwhile fire now.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => sessionRow(r, p.sessionId),
    decide: (row: SessionRow | undefined, p: z.infer<typeof schemas.ref>): Decision => {
      const s = mustSession(row, p.sessionId);
      active(s);
      if (s.status !== 'paused') return { events: [], value: { sessionId: s.id } };
      return one(s.id, 'session.resumed', {});
    },
  },
  {
    type: 'session.cancel',
    description: 'Cancel a session: running steps are aborted (AbortSignal), child sessions cancelled.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, `AND status IN ${ACTIVE_STEP}`) }),
    decide: (st: { row?: SessionRow; steps: StepRow[] }, p: z.infer<typeof schemas.ref>): Decision => {
      const s = mustSession(st.row, p.sessionId);
      active(s);
      const reason = p.reason ?? 'cancelled by a person';
      return {
        events: [
          ...st.steps.map((x) => ({ stream: sessionStream(s.id), type: 'step.cancelled', payload: { step: x.key, reason } })),
          { stream: sessionStream(s.id), type: 'session.cancelled', payload: { reason } },
        ],
        value: { sessionId: s.id, cancelledSteps: st.steps.length },
      };
    },
  },
  {
    type: 'session.retry',
    description: 'Run a failed (or cancelled) session again from its failed and cancelled steps; finished steps are kept.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, "AND (status IN ('failed','cancelled') OR key LIKE '@%')") }),
    decide: (st: { row?: SessionRow; steps: StepRow[] }, p: z.infer<typeof schemas.ref>): Decision => {
      const s = mustSession(st.row, p.sessionId);
      if (s.status !== 'failed' && s.status !== 'cancelled') throw new KernelError('invalid_state', `Only a failed or cancelled session can be retried; ${s.id} is ${s.status}.`, { sessionId: s.id, status: s.status });
      parsed(s.source);
      return one(s.id, 'session.retried', { reset: st.steps.filter((x) => x.key !== '@onStart').map((x) => x.key) });
    },
  },
  approvalCommand('session.approve', true),
  approvalCommand('session.reject', false),
  {
    type: 'session.rerun',
    description: 'Start a new session forked from this one: steps not downstream of fromStep are carried over, the rest run again. History is never rewritten.',
    schema: schemas.rerun, mutates: true,
    load: (r, p: z.infer<typeof schemas.rerun>) => ({
      row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, "AND status IN ('succeeded','skipped')"),
      atSeq: r.value('SELECT last_seq FROM sessions WHERE id = ?', [p.sessionId]) as number | undefined,
      env: r.value("SELECT json_extract(payload, '$.env') FROM events WHERE stream = ? AND stream_seq = 1", [sessionStream(p.sessionId)]) as string | undefined,
    }),
    decide: (st: { row?: SessionRow; steps: StepRow[]; atSeq?: number; env?: string }, p: z.infer<typeof schemas.rerun>, ctx): Decision => {
      const s = mustSession(st.row, p.sessionId);
      const { workflow } = parsed(s.source);
      const top = workflow.steps.find((x) => x.id === p.fromStep);
      if (!top) throw new KernelError('not_found', `${p.fromStep} is not a top-level step of ${workflow.name} (steps: ${workflow.steps.map((x) => x.id).join(', ')}).`, { step: p.fromStep });
      const again = downstream(p.fromStep, workflow.steps);
      const carried: CarriedStep[] = [];
      for (const x of st.steps) {
        const id = /^[^[@]+/.exec(x.key)?.[0] ?? x.key;
        const holder = workflow.steps.find((t) => t.id === id || containsId(t, id));
        if (!holder || again.has(holder.id) || x.key.includes('@')) continue;
        carried.push({
          step: x.key, status: x.status as 'succeeded' | 'skipped', attempt: x.attempt,
          ...(x.output !== null ? { output: JSON.parse(x.output) as Json } : {}),
          ...(x.artifact !== null ? { artifact: JSON.parse(x.artifact) as { hash: string; size: number } } : {}),
          ...(x.branch !== null ? { branch: x.branch as 'then' | 'else' } : {}),
        });
      }
      const env = st.env ? (JSON.parse(st.env) as { [k: string]: Json }) : {};
      return startDecision(ctx.newId(), s.source, JSON.parse(s.inputs), env, {
        forkOf: { sessionId: s.id, fromStep: p.fromStep, atSeq: st.atSeq ?? 0 }, carried: carried as unknown as Json,
      });
    },
  },
  {
    type: 'session.migrate',
    description: 'Move an unfinished or failed session to a new definition (validated: every step it already ran must exist there).',
    schema: schemas.migrate, mutates: true, audit: 'session.migrated', target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: z.infer<typeof schemas.migrate>) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId) }),
    decide: (st: { row?: SessionRow; steps: StepRow[] }, p: z.infer<typeof schemas.migrate>): Decision => {
      const s = mustSession(st.row, p.sessionId);
      if (s.status === 'succeeded' || s.status === 'cancelled') throw new KernelError('invalid_state', `Session ${s.id} is ${s.status}; only running, paused or failed sessions can be migrated.`, { sessionId: s.id });
      const { workflow, hash } = parsed(p.source);
      const ids = new Set<string>();
      const walk = (list: Workflow['steps']): void => { for (const x of list) { ids.add(x.id); if (x.type === 'loop') walk(x.steps); if (x.type === 'parallel' || x.type === 'race') x.branches.forEach(walk); } };
      walk(workflow.steps);
      const missing = st.steps.map((x) => x.key.split('.').pop()!.replace(/@.*$/, '')).filter((id) => id !== '' && !ids.has(id));
      if (missing.length > 0) throw new KernelError('invalid_workflow', `The new definition lacks steps this session already ran: ${[...new Set(missing)].join(', ')}.`, { missing: [...new Set(missing)] });
      return one(s.id, 'session.migrated', {
        from: { name: s.workflow_name, version: s.workflow_version, hash: s.workflow_hash },
        workflow: { name: workflow.name, version: workflow.version, hash }, source: p.source, reason: p.reason,
      });
    },
  },
  {
    type: 'session.record',
    description: 'Append the engine\'s step transitions for one session (engine only; expectedVersion guards against lost updates).',
    schema: schemas.record, mutates: true, internal: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    decide: (_: unknown, p: z.infer<typeof schemas.record>): Decision => {
      for (const e of p.events) {
        if (!SESSION_EVENT_TYPES.has(e.type) || e.type === 'session.started') throw new KernelError('invalid_payload', `session.record: ${e.type} is not a session transition.`, { type: e.type });
      }
      for (const b of p.blobs ?? []) {
        if (sha256Hex(b.data) !== b.hash) throw new KernelError('invalid_payload', `session.record: blob ${b.hash} does not match its content.`, { hash: b.hash });
      }
      const blobs = p.blobs ?? [];
      return {
        events: p.events.map((e) => ({ stream: sessionStream(p.sessionId), type: e.type, payload: e.payload as Json })),
        value: { sessionId: p.sessionId },
        ...(blobs.length > 0 ? {
          store: (w) => {
            for (const b of blobs) {
              w.run('INSERT INTO blobs (hash, size, media_type, data, created_at) VALUES (?,?,?,?,datetime()) ON CONFLICT (hash) DO NOTHING', [b.hash, b.data.length, b.mediaType, b.data]);
            }
          },
        } : {}),
      };
    },
  },
]);

function containsId(step: Workflow['steps'][number], id: string): boolean {
  if (step.type === 'loop') return step.steps.some((x) => x.id === id || containsId(x, id));
  if (step.type === 'parallel' || step.type === 'race') return step.branches.some((b) => b.some((x) => x.id === id || containsId(x, id)));
  return false;
}

function approvalCommand<T extends 'session.approve' | 'session.reject'>(type: T, approved: boolean): CommandDefinition & { readonly type: T; readonly schema: typeof schemas.decide } {
  return {
    type,
    description: approved ? 'Approve a step waiting for a person (with an optional comment).' : 'Reject a step waiting for a person; the step fails with approval_rejected.',
    schema: schemas.decide, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: z.infer<typeof schemas.decide>) => ({ row: sessionRow(r, p.sessionId), step: stepRow(r, p.sessionId, p.step) }),
    decide: (st: { row?: SessionRow; step?: StepRow }, p: z.infer<typeof schemas.decide>, ctx): Decision => {
      const s = mustSession(st.row, p.sessionId);
      active(s);
      const approval = st.step?.approval ? (JSON.parse(st.step.approval) as { approvers: string[]; decided?: unknown }) : undefined;
      if (!st.step || st.step.status !== 'waiting' || !approval || approval.decided) {
        throw new KernelError('invalid_state', `Step ${p.step} of session ${s.id} is not waiting for an approval.`, { sessionId: s.id, step: p.step });
      }
      if (approval.approvers.length > 0 && !approval.approvers.includes(ctx.actor)) {
        throw new KernelError('forbidden', `${ctx.actor} may not decide ${p.step}; approvers: ${approval.approvers.join(', ')}.`, { approvers: approval.approvers, actor: ctx.actor });
      }
      return one(s.id, 'approval.decided', { step: p.step, approved, comment: p.comment ?? '', by: ctx.actor });
    },
  };
}

/**
 * Commands of the workflow library and of sessions. Each `decide` is pure: it parses the pinned
 * definition (deterministic) and reads state the `load` step took from the projections.
 */
import { z } from 'zod';
import { defineCommands, type CommandDefinition, type Decision, type DecideContext, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import type { Workflow } from '../../workflow/index.ts';
import { workflowCode } from '../../workflow/code.ts';
import { SESSION_EVENT_TYPES, sessionRequestStream, sessionStream, workflowStream, type CarriedStep, type SessionEventType } from './events.ts';
import { downstream } from './support.ts';
import { ACTIVE_STEP } from './projection.ts';
import { decideSave, loadSave, parsed, resolveWorkflowSource, type SaveState } from './workflow-source.ts';
import { checkNamed, installedNamed } from './named.ts';
import { manifestCode } from '../../manifests/code.ts';
import type { Installed } from '../../manifests/index.ts';
import { assertActiveWorkspace, assertProjectIn, projectRef, workspaceField, workspaceStatus, type ProjectRef, type WorkspaceStatus } from '../workspaces/scope.ts';

const sessionId = z.string().min(1).max(200);
const jsonRecord = z.record(z.string(), z.json());

const schemas = {
  save: z.strictObject({ workspaceId: workspaceField, source: z.string().min(1).max(256 * 1024) }),
  archive: z.strictObject({ workspaceId: workspaceField, name: z.string().min(1) }),
  start: z.strictObject({
    workspaceId: workspaceField,
    /** File the session under a project of the workspace (optional). */
    projectId: z.uuid().optional(),
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
  id: string; workspace_id: string; project_id: string | null; owner_device: string; status: string; source: string; inputs: string; workflow_name: string; workflow_hash: string; workflow_version: string;
}
interface StepRow { key: string; status: string; attempt: number; output: string | null; artifact: string | null; branch: string | null; child_id: string | null; approval: string | null }

function sessionRow(r: Reader, id: string): SessionRow | undefined {
  return r.get('SELECT id, workspace_id, project_id, owner_device, status, source, inputs, workflow_name, workflow_hash, workflow_version FROM sessions WHERE id = ?', [id]) as SessionRow | undefined;
}

type RequestedCommand = 'session.pause' | 'session.resume' | 'session.cancel' | 'session.retry' | 'session.approve' | 'session.reject';

/**
 * A session belongs to the device that started it; only that device runs (and changes) it. On
 * any other device a person's command becomes a request the owner's engine applies.
 */
function requestIfElsewhere(s: SessionRow, ctx: DecideContext, command: RequestedCommand, payload: { [k: string]: unknown }): Decision | null {
  if (s.owner_device === ctx.device) return null;
  return {
    events: [{ stream: sessionRequestStream(s.id), type: 'session.requested', payload: { sessionId: s.id, command, payload: payload as { [k: string]: Json }, device: ctx.device, actor: ctx.actor } }],
    value: { sessionId: s.id, requested: true, owner: s.owner_device },
  };
}

function stepRows(r: Reader, id: string, where = ''): StepRow[] {
  return r.all(`SELECT key, status, attempt, output, artifact, branch, child_id, approval FROM session_steps WHERE session_id = ? ${where}`, [id]) as unknown as StepRow[];
}

function stepRow(r: Reader, id: string, key: string): StepRow | undefined {
  return r.get('SELECT key, status, attempt, output, artifact, branch, child_id, approval FROM session_steps WHERE session_id = ? AND key = ?', [id, key]) as StepRow | undefined;
}

/** The installed Tools and Agents of a session's workspace (none when there is no such session). */
function installedOf(r: Reader, sessionId: string): Installed[] {
  const ws = r.value('SELECT workspace_id FROM sessions WHERE id = ?', [sessionId]);
  return typeof ws === 'string' ? installedNamed(r, ws) : [];
}

function mustSession(row: SessionRow | undefined, id: string): SessionRow {
  if (!row) throw new KernelError('not_found', `There is no session ${id}.`, { sessionId: id });
  return row;
}

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** What a start checks names against: the workspace's installed Tools and Agents (load) and this host's runners (ctx). */
export interface Named { readonly installed: readonly Installed[]; readonly runners: ReadonlySet<string> }

export function startDecision(id: string, workspaceId: string, source: string, inputs: unknown, env: { [k: string]: Json }, named: Named, extra: { [k: string]: Json } = {}): Decision {
  const { workflow, hash } = parsed(source);
  const { pins, warnings } = checkNamed(source, workflow, named.installed, named.runners, env);
  const checked = workflowCode.get().validateInputs(workflow, inputs);
  if (!checked.ok) {
    throw new KernelError('invalid_inputs', `Inputs of ${workflow.name}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
      { issues: checked.errors as unknown as Json });
  }
  return {
    events: [{
      stream: sessionStream(id), type: 'session.started',
      payload: { sessionId: id, workspaceId, workflow: { name: workflow.name, version: workflow.version, hash }, source, inputs: checked.value, env, ...extra, ...(pins.length > 0 ? { pinned: pins as unknown as Json } : {}) },
    }],
    value: { sessionId: id, ...(warnings.length > 0 ? { warnings: warnings as unknown as Json } : {}) },
  };
}

const one = (id: string, type: SessionEventType, payload: Json): Decision => ({ events: [{ stream: sessionStream(id), type, payload }], value: { sessionId: id } });

function active(row: SessionRow): void {
  if (TERMINAL.has(row.status)) throw new KernelError('invalid_state', `Session ${row.id} already ${row.status}.`, { sessionId: row.id, status: row.status });
}

export const commands = defineCommands([
  {
    type: 'workflow.save',
    needs: [workflowCode],
    concurrent: "Two saves of the same name both become revisions, numbered in merge order; the later is the latest. A save merged after an archive brings the workflow back.",
    description: 'Save a workflow definition (YAML) as the next revision of its name in a workspace (names are unique per workspace); an unchanged definition saves nothing.',
    schema: schemas.save, mutates: true,
    load: (r, p: z.infer<typeof schemas.save>) => loadSave(r, p.workspaceId, p.source),
    decide: (st: SaveState, p: z.infer<typeof schemas.save>): Decision => decideSave(st, p.workspaceId, p.source),
  },
  {
    type: 'workflow.archive',
    concurrent: "The later in merge order of a save and an archive decides whether the workflow is in the library; sessions that pinned it are not affected.",
    description: 'Hide a workflow from the library (sessions that pinned it keep running).',
    schema: schemas.archive, mutates: true,
    load: (r, p: z.infer<typeof schemas.archive>) => r.get('SELECT archived FROM workflow_names WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]),
    decide: (row: { archived: number } | undefined, p: z.infer<typeof schemas.archive>): Decision => {
      if (!row) throw new KernelError('not_found', `There is no workflow named ${p.name} in this workspace.`, { name: p.name, workspaceId: p.workspaceId });
      if (row.archived) return { events: [], value: { name: p.name } };
      return { events: [{ stream: workflowStream(p.workspaceId, p.name), type: 'workflow.archived', payload: { workspaceId: p.workspaceId, name: p.name } }], value: { name: p.name } };
    },
  },
  {
    type: 'session.start',
    needs: [workflowCode, manifestCode],
    concurrent: "Each start is its own session, owned by the device that started it: only that device runs its steps.",
    description: 'Start a session in a workspace (optionally filed under one of its projects), of a workflow saved there (`name` or `name@version`) or of an inline YAML source, with inputs.',
    schema: schemas.start, mutates: true,
    load: (r, p: z.infer<typeof schemas.start>) => ({
      found: p.workflow !== undefined ? resolveWorkflowSource(r, p.workspaceId, p.workflow) : undefined,
      workspace: workspaceStatus(r, p.workspaceId),
      project: p.projectId !== undefined ? projectRef(r, p.projectId) : undefined,
      installed: installedNamed(r, p.workspaceId),
    }),
    decide: (st: { found?: { source: string }; workspace: WorkspaceStatus; project?: ProjectRef; installed: Installed[] }, p: z.infer<typeof schemas.start>, ctx): Decision => {
      if ((p.workflow === undefined) === (p.source === undefined)) throw new KernelError('invalid_payload', 'session.start: give exactly one of workflow (a saved name) or source (YAML).', { field: 'workflow' });
      assertActiveWorkspace(st.workspace, p.workspaceId);
      if (p.projectId !== undefined) assertProjectIn(st.project, p.projectId, p.workspaceId);
      const found = st.found;
      if (p.workflow !== undefined && !found) throw new KernelError('not_found', `There is no saved workflow ${p.workflow} in this workspace; save it first or pass source.`, { workflow: p.workflow, workspaceId: p.workspaceId });
      return startDecision(ctx.newId(), p.workspaceId, found?.source ?? p.source!, p.inputs, p.env ?? {}, { installed: st.installed, runners: ctx.runners }, p.projectId !== undefined ? { projectId: p.projectId } : {});
    },
  },
  {
    type: 'session.start_child',
    needs: [workflowCode, manifestCode],
    concurrent: "A child session belongs to its parent's device, which alone starts and runs it.",
    description: 'Start the child session of a `workflow` step (engine only), in its parent\'s workspace, of a workflow saved there.',
    schema: schemas.startChild, mutates: true, internal: true,
    load: (r, p: z.infer<typeof schemas.startChild>) => {
      const parent = sessionRow(r, p.parent.sessionId);
      return { parent, found: parent ? resolveWorkflowSource(r, parent.workspace_id, p.workflow) : undefined, installed: parent ? installedNamed(r, parent.workspace_id) : [] };
    },
    decide: (st: { parent?: SessionRow; found?: { source: string }; installed: Installed[] }, p: z.infer<typeof schemas.startChild>, ctx): Decision => {
      const parent = mustSession(st.parent, p.parent.sessionId);
      if (!st.found) throw new KernelError('not_found', `There is no saved workflow ${p.workflow} in the parent session's workspace.`, { workflow: p.workflow, workspaceId: parent.workspace_id });
      return startDecision(p.sessionId, parent.workspace_id, st.found.source, p.inputs, p.env, { installed: st.installed, runners: ctx.runners }, { parent: p.parent, ...(parent.project_id ? { projectId: parent.project_id } : {}) });
    },
  },
  {
    type: 'session.pause',
    concurrent: "Decided on the device that owns the session; sent from another device it becomes a request (session.requested) that the owner applies when it receives it. Pause and resume: the later the owner applies wins.",
    description: 'Pause a session: running steps finish and are recorded, nothing new starts, timers wait.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => sessionRow(r, p.sessionId),
    decide: (row: SessionRow | undefined, p: z.infer<typeof schemas.ref>, ctx): Decision => {
      const s = mustSession(row, p.sessionId);
      active(s);
      if (s.status === 'paused') return { events: [], value: { sessionId: s.id } };
      const req = requestIfElsewhere(s, ctx, 'session.pause', p);
      if (req) return req;
      return one(s.id, 'session.paused', { reason: p.reason ?? '' });
    },
  },
  {
    type: 'session.resume',
    concurrent: "Decided on the device that owns the session; from another device a request the owner applies.",
    description: 'Resume a paused session; timers that fell due meanwhile fire now.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => sessionRow(r, p.sessionId),
    decide: (row: SessionRow | undefined, p: z.infer<typeof schemas.ref>, ctx): Decision => {
      const s = mustSession(row, p.sessionId);
      active(s);
      if (s.status !== 'paused') return { events: [], value: { sessionId: s.id } };
      const req = requestIfElsewhere(s, ctx, 'session.resume', p);
      if (req) return req;
      return one(s.id, 'session.resumed', {});
    },
  },
  {
    type: 'session.cancel',
    concurrent: "Decided on the device that owns the session; from another device a request the owner applies. Two cancels: the first cancels, the second changes nothing.",
    description: 'Cancel a session: running steps are aborted (AbortSignal), child sessions cancelled.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, `AND status IN ${ACTIVE_STEP}`) }),
    decide: (st: { row?: SessionRow; steps: StepRow[] }, p: z.infer<typeof schemas.ref>, ctx): Decision => {
      const s = mustSession(st.row, p.sessionId);
      active(s);
      const req = requestIfElsewhere(s, ctx, 'session.cancel', p);
      if (req) return req;
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
    needs: [workflowCode],
    concurrent: "Decided on the device that owns the session; from another device a request the owner applies.",
    description: 'Run a failed (or cancelled) session again from its failed and cancelled steps; finished steps are kept.',
    schema: schemas.ref, mutates: true, target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: { sessionId: string }) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, "AND (status IN ('failed','cancelled') OR key LIKE '@%')") }),
    decide: (st: { row?: SessionRow; steps: StepRow[] }, p: z.infer<typeof schemas.ref>, ctx): Decision => {
      const s = mustSession(st.row, p.sessionId);
      if (s.status !== 'failed' && s.status !== 'cancelled') throw new KernelError('invalid_state', `Only a failed or cancelled session can be retried; ${s.id} is ${s.status}.`, { sessionId: s.id, status: s.status });
      const req = requestIfElsewhere(s, ctx, 'session.retry', p);
      if (req) return req;
      parsed(s.source);
      return one(s.id, 'session.retried', { reset: st.steps.filter((x) => x.key !== '@onStart').map((x) => x.key) });
    },
  },
  approvalCommand('session.approve', true),
  approvalCommand('session.reject', false),
  {
    type: 'session.rerun',
    needs: [workflowCode, manifestCode],
    concurrent: "A rerun is a new session (a linked fork) owned by the device that asks for it.",
    description: 'Start a new session forked from this one: steps not downstream of fromStep are carried over, the rest run again. History is never rewritten.',
    schema: schemas.rerun, mutates: true,
    load: (r, p: z.infer<typeof schemas.rerun>) => ({
      row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId, "AND status IN ('succeeded','skipped')"),
      atSeq: r.value('SELECT last_seq FROM sessions WHERE id = ?', [p.sessionId]) as number | undefined,
      env: r.value("SELECT json_extract(payload, '$.env') FROM events WHERE stream = ? AND stream_seq = 1", [sessionStream(p.sessionId)]) as string | undefined,
      installed: installedOf(r, p.sessionId),
    }),
    decide: (st: { row?: SessionRow; steps: StepRow[]; atSeq?: number; env?: string; installed: Installed[] }, p: z.infer<typeof schemas.rerun>, ctx): Decision => {
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
      return startDecision(ctx.newId(), s.workspace_id, s.source, JSON.parse(s.inputs), env, { installed: st.installed, runners: ctx.runners }, {
        ...(s.project_id ? { projectId: s.project_id } : {}),
        forkOf: { sessionId: s.id, fromStep: p.fromStep, atSeq: st.atSeq ?? 0 }, carried: carried as unknown as Json,
      });
    },
  },
  {
    type: 'session.migrate',
    needs: [workflowCode, manifestCode],
    concurrent: "Only the device that owns the session migrates it (refused elsewhere, invalid_state).",
    description: 'Move an unfinished or failed session to a new definition (validated: every step it already ran must exist there).',
    schema: schemas.migrate, mutates: true, audit: 'session.migrated', target: (p: { sessionId: string }) => sessionStream(p.sessionId),
    load: (r, p: z.infer<typeof schemas.migrate>) => ({ row: sessionRow(r, p.sessionId), steps: stepRows(r, p.sessionId), installed: installedOf(r, p.sessionId) }),
    decide: (st: { row?: SessionRow; steps: StepRow[]; installed: Installed[] }, p: z.infer<typeof schemas.migrate>, ctx): Decision => {
      const s = mustSession(st.row, p.sessionId);
      if (s.owner_device !== ctx.device) {
        throw new KernelError('invalid_state', `Session ${s.id} runs on another device (${s.owner_device}); migrate it there.`, { sessionId: s.id, owner: s.owner_device });
      }
      if (s.status === 'succeeded' || s.status === 'cancelled') throw new KernelError('invalid_state', `Session ${s.id} is ${s.status}; only running, paused or failed sessions can be migrated.`, { sessionId: s.id });
      const { workflow, hash } = parsed(p.source);
      const ids = new Set<string>();
      const walk = (list: Workflow['steps']): void => { for (const x of list) { ids.add(x.id); if (x.type === 'loop') walk(x.steps); if (x.type === 'parallel' || x.type === 'race') x.branches.forEach(walk); } };
      walk(workflow.steps);
      const missing = st.steps.map((x) => x.key.split('.').pop()!.replace(/@.*$/, '')).filter((id) => id !== '' && !ids.has(id));
      if (missing.length > 0) throw new KernelError('invalid_workflow', `The new definition lacks steps this session already ran: ${[...new Set(missing)].join(', ')}.`, { missing: [...new Set(missing)] });
      const { pins } = checkNamed(p.source, workflow, st.installed, ctx.runners, undefined);
      return one(s.id, 'session.migrated', {
        from: { name: s.workflow_name, version: s.workflow_version, hash: s.workflow_hash },
        workflow: { name: workflow.name, version: workflow.version, hash }, source: p.source, reason: p.reason,
        ...(pins.length > 0 ? { pinned: pins as unknown as Json } : {}),
      });
    },
  },
  {
    type: 'session.record',
    concurrent: "Written only by the engine of the device that owns the session: a session never has two writers.",
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
    concurrent: approved
      ? 'Decided on the device that owns the session; from another device a request the owner applies. The first decision the owner applies counts; a later approve or reject of the same step changes nothing.'
      : 'As session.approve: the first decision the owner applies counts.',
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
      const req = requestIfElsewhere(s, ctx, type, p);
      if (req) return req;
      return one(s.id, 'approval.decided', { step: p.step, approved, comment: p.comment ?? '', by: ctx.actor });
    },
  };
}

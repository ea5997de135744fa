/**
 * Commands of contracts (docs/contracts.md): set, enable, disable, remove, fire (the button), and
 * the scheduler's internal trigger, skip and release. A firing that starts a run appends
 * `contract.fired` and the session's `session.started` in one decision, so a firing is never
 * recorded without its session nor a session without its firing.
 *
 * Invariants:
 * 1. `decide` is pure: the cron check and the overlap decision are schedule.ts's pure functions
 *    (loaded on demand), the session id derives from the firing key and the device (firing.ts).
 * 2. A firing key fires at most once per database: a key already in the projection (from this
 *    device or merged from another) answers the first firing's session and appends nothing.
 * 3. Bad input changes nothing: an unknown workflow, inputs its schema refuses, a cron expression
 *    or time zone croner refuses (`invalid_trigger` with the sentence) are refused before any event.
 * 4. The scheduler's firings never throw for a workflow gone or inputs no longer valid: the instant
 *    is recorded as skipped with reason `error` and the sentence, so the schedule moves on.
 */
import { defineCommands, type Decision, type DecideContext, type NewEvent, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { workflowCode } from '../../workflow/code.ts';
import { scheduleCode } from '../../contracts/code.ts';
import { startDecision } from '../sessions/commands.ts';
import { parsed, resolveWorkflowSource } from '../sessions/workflow-source.ts';
import { installedNamed } from '../sessions/named.ts';
import { manifestCode } from '../../manifests/code.ts';
import { parseCachedManifest, readManifestRows } from '../manifests/state.ts';
import type { Installed } from '../../manifests/index.ts';
import { assertActiveWorkspace, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { contractStream, refSchema, setSchema, skipSchema, triggerSchema, type ContractSet, type SkipRange, type Trigger } from './schemas.ts';
import { buttonFiringKey, eventFiringKey, firingKey, firingSessionId } from './firing.ts';
import { z } from 'zod';

export interface ContractRow {
  id: string; workspace_id: string; name: string; workflow: string; inputs: string; kind: string; trigger_spec: string;
  overlap: 'skip' | 'buffer_one' | 'allow'; catch_up: string; enabled: number; home_device: string; considered: number;
}

export function contractRow(r: Reader, id: string): ContractRow | undefined {
  return r.get('SELECT * FROM contracts WHERE id = ?', [id]) as ContractRow | undefined;
}

function mustContract(row: ContractRow | undefined, id: string): ContractRow {
  if (!row) throw new KernelError('not_found', `There is no contract ${id}; list the workspace's contracts to pick one.`, { contractId: id });
  return row;
}

/** Refuse a trigger the scheduler could not follow, with the sentence to fix it. */
export function assertTrigger(t: Trigger): void {
  if (t.kind === 'cron') {
    const ok = scheduleCode.get().checkTrigger({ cron: t.cron, ...(t.timezone !== undefined ? { timezone: t.timezone } : {}) });
    if (!ok.ok) {
      const field = ok.message.includes('time zone') ? 'payload.trigger.timezone' : 'payload.trigger.cron';
      throw new KernelError('invalid_trigger', ok.message, { field });
    }
  }
  if (t.kind === 'event' && t.type.startsWith('contract.')) {
    throw new KernelError('invalid_trigger', `A contract cannot be triggered by ${t.type}: contract events would trigger contracts in a loop. Pick an event of another kind, e.g. forest.node_created.`, { field: 'payload.trigger.type' });
  }
}

function notFoundWorkflow(workflow: string, workspaceId: string): KernelError {
  if (workflow.startsWith(KATA_PREFIX)) {
    return new KernelError('not_found', `There is no installed kata ${workflow.slice(KATA_PREFIX.length)} with its workflow in this workspace; install it from a realm (or apply its manifests), or pick another target.`, { field: 'payload.workflow', workflow, workspaceId });
  }
  return new KernelError('not_found', `There is no saved workflow ${workflow} in this workspace; save it under Workflows first, or pick one from the list.`, { field: 'payload.workflow', workflow, workspaceId });
}

/** A target naming a kata: `kata:<name>`. */
export const KATA_PREFIX = 'kata:';

/**
 * A contract's target as a workflow source: a workflow of the library (`name`, `name@version`),
 * or a kata (`kata:<name>`): the workflow of its highest installed version, looked up at each
 * firing, so an upgrade of the kata is what its next firing runs.
 */
function resolveTarget(r: Reader, workspaceId: string, target: string): { source: string } | undefined {
  if (!target.startsWith(KATA_PREFIX)) return resolveWorkflowSource(r, workspaceId, target);
  const name = target.slice(KATA_PREFIX.length);
  const rows = readManifestRows(r, workspaceId, 'Kata').filter((m) => m.name === name);
  if (rows.length === 0) return undefined;
  const { compare } = manifestCode.get();
  const latest = rows.reduce((a, b) => (compare(b.version, a.version) > 0 ? b : a));
  const kata = parseCachedManifest(latest.source);
  return kata.ok && kata.manifest.kind === 'Kata' ? resolveWorkflowSource(r, workspaceId, kata.manifest.workflow) : undefined;
}

/** The session's inputs checked against the workflow (throws invalid_workflow / invalid_inputs). */
function checkedInputs(source: string, inputs: unknown): void {
  const { workflow } = parsed(source);
  const checked = workflowCode.get().validateInputs(workflow, inputs);
  if (!checked.ok) {
    throw new KernelError('invalid_inputs', `Inputs of ${workflow.name}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, { issues: checked.errors as unknown as Json });
  }
}

interface FireState {
  contract?: ContractRow;
  workspace: WorkspaceStatus;
  found?: { source: string };
  running: number;
  buffered: number;
  /** The workspace's installed Tools and Agents, which a start checks the workflow's names against. */
  installed: Installed[];
  /** The firing already recorded under this key, if any. */
  existing?: { session_id: string | null };
}

function fireState(r: Reader, id: string, key: string | null): FireState {
  const contract = contractRow(r, id);
  const counts = r.get(`SELECT COALESCE(SUM(session_id IS NOT NULL AND ended = 0), 0) AS running, COALESCE(SUM(buffered = 1 AND session_id IS NULL), 0) AS buffered
                        FROM contract_firings WHERE contract_id = ?`, [id]);
  const existing = key !== null ? r.get('SELECT session_id FROM contract_firings WHERE key = ?', [key]) as { session_id: string | null } | undefined : undefined;
  return {
    workspace: contract ? workspaceStatus(r, contract.workspace_id) : undefined,
    installed: contract ? installedNamed(r, contract.workspace_id) : [],
    running: Number(counts?.['running'] ?? 0),
    buffered: Number(counts?.['buffered'] ?? 0),
    ...(contract ? { contract } : {}),
    ...(contract ? optional('found', resolveTarget(r, contract.workspace_id, contract.workflow)) : {}),
    ...(existing ? { existing } : {}),
  };
}

function optional<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/** The event that fired an event contract, as the run reads it (`env.contract.event`); its payload when under 16 kB. */
function eventOf(r: Reader, eventId: string): Json | undefined {
  const row = r.get('SELECT id, type, stream, payload FROM events WHERE id = ?', [eventId]);
  if (!row) return undefined;
  const payload = String(row['payload']);
  return { id: String(row['id']), type: String(row['type']), stream: String(row['stream']), ...(payload.length <= 16_384 ? { payload: JSON.parse(payload) as Json } : {}) };
}

interface Firing { key: string; instant: number; source: 'cron' | 'event' | 'button'; eventId?: string; event?: Json; considered?: number }

function skipped(id: string, ranges: SkipRange[], considered: number | undefined): NewEvent {
  return { stream: contractStream(id), type: 'contract.skipped', payload: { id, ranges, ...(considered !== undefined ? { considered } : {}) } as unknown as Json };
}

/**
 * The events of one firing under the overlap policy: a run, the one buffered run, or a skip.
 * `strict`: a person pressed the button, so a refusal throws instead of being recorded.
 */
function fire(st: FireState & { contract: ContractRow }, f: Firing, ctx: DecideContext, strict: boolean): Decision {
  const c = st.contract;
  const stream = contractStream(c.id);
  const base = { id: c.id, key: f.key, instant: f.instant, source: f.source, ...(f.eventId ? { eventId: f.eventId } : {}), ...(f.considered !== undefined ? { considered: f.considered } : {}) };
  const decision = scheduleCode.get().overlapDecision(c.overlap, st.running, st.buffered);
  if (decision === 'skip') {
    if (strict) throw new KernelError('invalid_state', `${c.name} is still running and its overlap policy is "${c.overlap === 'skip' ? 'skip' : 'buffer one'}"; wait until the run ends, or allow overlapping runs.`, { contractId: c.id, running: st.running });
    return { events: [skipped(c.id, [{ reason: 'overlap', count: 1, first: f.instant, last: f.instant }], f.considered)], value: { contractId: c.id, key: f.key, skipped: 'overlap' } };
  }
  if (decision === 'buffer') {
    return { events: [{ stream, type: 'contract.fired', payload: { ...base, buffered: true } }], value: { contractId: c.id, key: f.key, buffered: true } };
  }
  const sessionId = firingSessionId(f.key, ctx.device);
  try {
    if (!st.found) throw notFoundWorkflow(c.workflow, c.workspace_id);
    const start = startDecision(sessionId, c.workspace_id, st.found.source, JSON.parse(c.inputs), { contract: contractEnv(c, f) }, { installed: st.installed, runners: ctx.runners });
    return { events: [{ stream, type: 'contract.fired', payload: { ...base, sessionId } }, ...start.events], value: { contractId: c.id, key: f.key, sessionId } };
  } catch (err) {
    if (strict || !(err instanceof KernelError)) throw err;
    return {
      events: [skipped(c.id, [{ reason: 'error', count: 1, first: f.instant, last: f.instant, message: err.message.slice(0, 2_000) }], f.considered)],
      value: { contractId: c.id, key: f.key, skipped: 'error', code: err.code },
    };
  }
}

/** What a run started by a contract reads as `env.contract`. */
function contractEnv(c: ContractRow, f: Firing): Json {
  return { id: c.id, name: c.name, instant: new Date(f.instant).toISOString(), key: f.key, source: f.source, ...(f.event !== undefined ? { event: f.event } : {}) };
}

const SET_CONCURRENT = 'Two sets of the same contract: the later in merge order wins as a whole. The later of a set and a remove decides whether it exists.';

export const commands = defineCommands([
  {
    type: 'contract.set',
    needs: [workflowCode, scheduleCode, manifestCode],
    concurrent: SET_CONCURRENT,
    description: "Create a contract (no id) or replace one: a trigger (cron with a time zone, an event with a filter, or a button) that runs a workflow of the workspace's library with fixed inputs, with an overlap and a catch-up policy.",
    schema: setSchema, mutates: true, audit: 'contract.set',
    load: (r, p: ContractSet) => ({
      workspace: workspaceStatus(r, p.workspaceId),
      existing: p.id !== undefined ? contractRow(r, p.id) : undefined,
      found: resolveTarget(r, p.workspaceId, p.workflow),
    }),
    decide: (st: { workspace: WorkspaceStatus; existing?: ContractRow; found?: { source: string } }, p: ContractSet, ctx): Decision => {
      assertActiveWorkspace(st.workspace, p.workspaceId);
      if (st.existing && st.existing.workspace_id !== p.workspaceId) {
        throw new KernelError('invalid_payload', `payload.id: contract ${p.id} belongs to another workspace; a contract stays in the workspace it was made in.`, { field: 'payload.id' });
      }
      assertTrigger(p.trigger);
      if (!st.found) throw notFoundWorkflow(p.workflow, p.workspaceId);
      checkedInputs(st.found.source, p.inputs);
      const id = p.id ?? ctx.newId();
      return { events: [{ stream: contractStream(id), type: 'contract.set', payload: { ...p, id } as unknown as Json }], value: { id } };
    },
  },
  toggle('contract.enable', true),
  toggle('contract.disable', false),
  {
    type: 'contract.remove',
    concurrent: 'The later in merge order of a set and a remove decides whether the contract exists; runs it started keep running.',
    description: 'Remove a contract and its record of firings (sessions it started are not touched).',
    schema: refSchema, mutates: true, audit: 'contract.removed',
    load: (r, p: z.output<typeof refSchema>) => contractRow(r, p.id),
    decide: (row: ContractRow | undefined, p: z.output<typeof refSchema>): Decision => {
      mustContract(row, p.id);
      return { events: [{ stream: contractStream(p.id), type: 'contract.removed', payload: { id: p.id } }], value: { id: p.id } };
    },
  },
  {
    type: 'contract.fire',
    needs: [workflowCode, scheduleCode, manifestCode],
    concurrent: 'Each press is its own firing (its key names the press, so two presses, even in one millisecond, are two firings).',
    description: "Run a contract now (a person pressed its button): one firing under the contract's overlap policy.",
    schema: refSchema, mutates: true,
    load: (r, p: z.output<typeof refSchema>) => fireState(r, p.id, null),
    decide: (st: FireState, p: z.output<typeof refSchema>, ctx): Decision => {
      const c = mustContract(st.contract, p.id);
      assertActiveWorkspace(st.workspace, c.workspace_id);
      if (!c.enabled) throw new KernelError('invalid_state', `${c.name} is turned off; turn it on to run it.`, { contractId: c.id });
      return fire({ ...st, contract: c }, { key: buttonFiringKey(c.id, ctx.newId()), instant: ctx.nowMs, source: 'button' }, ctx, true);
    },
  },
  {
    type: 'contract.trigger',
    needs: [workflowCode, scheduleCode, manifestCode],
    internal: true,
    concurrent: 'Two devices firing the same key: the first in merge order is the run of that instant, the other a duplicate its device cancels.',
    description: 'The scheduler fires a due cron instant or a matching event (idempotency key: the firing key).',
    schema: triggerSchema, mutates: true,
    load: (r, p: z.output<typeof triggerSchema>) => ({
      ...fireState(r, p.id, p.eventId !== undefined ? eventFiringKey(p.id, p.eventId) : firingKey(p.id, p.instant)),
      ...(p.eventId !== undefined ? optional('event', eventOf(r, p.eventId)) : {}),
      // An event of a run this contract started never fires it again (no loop through its own sessions).
      own: p.eventId !== undefined && r.value(`SELECT 1 FROM events e JOIN contract_firings f ON e.stream = 'session:' || f.session_id
                                              WHERE e.id = ? AND f.contract_id = ?`, [p.eventId, p.id]) !== undefined,
    }),
    decide: (st: FireState & { event?: Json; own: boolean }, p: z.output<typeof triggerSchema>, ctx): Decision => {
      const key = p.eventId !== undefined ? eventFiringKey(p.id, p.eventId) : firingKey(p.id, p.instant);
      if (st.existing) return { events: [], value: { contractId: p.id, key, sessionId: st.existing.session_id, already: true } };
      if (!st.contract || !st.contract.enabled || st.workspace !== 'active') return { events: [], value: { contractId: p.id, key, skipped: 'disabled' } };
      if (st.own) return { events: [], value: { contractId: p.id, key, skipped: 'own_run' } };
      const c = st.contract;
      return fire({ ...st, contract: c }, {
        key, instant: p.instant, source: c.kind === 'event' ? 'event' : 'cron',
        ...(p.eventId !== undefined ? { eventId: p.eventId } : {}), ...(st.event !== undefined ? { event: st.event } : {}), ...(p.considered !== undefined ? { considered: p.considered } : {}),
      }, ctx, false);
    },
  },
  {
    type: 'contract.skip',
    internal: true,
    concurrent: 'Skipped ranges of every device are kept; the furthest instant any device considered counts.',
    description: 'The scheduler records instants it did not run (missed while every device was closed, outside the catch-up window, over its cap).',
    schema: skipSchema, mutates: true,
    load: (r, p: z.output<typeof skipSchema>) => contractRow(r, p.id),
    decide: (row: ContractRow | undefined, p: z.output<typeof skipSchema>): Decision => {
      if (!row) return { events: [], value: { contractId: p.id } };
      return { events: [skipped(p.id, p.ranges, p.considered)], value: { contractId: p.id } };
    },
  },
  {
    type: 'contract.release',
    needs: [workflowCode, scheduleCode, manifestCode],
    internal: true,
    concurrent: 'Released by the device that buffered the firing.',
    description: "The scheduler starts a contract's buffered run once its running run ended (overlap buffer_one).",
    schema: refSchema.extend({ key: z.string().min(1).max(300) }), mutates: true,
    load: (r, p: { id: string; key: string }) => ({ ...fireState(r, p.id, p.key), buffer: r.get('SELECT instant, source FROM contract_firings WHERE key = ? AND buffered = 1 AND session_id IS NULL', [p.key]) }),
    decide: (st: FireState & { buffer?: { instant: number; source: string } }, p: { id: string; key: string }, ctx): Decision => {
      if (!st.buffer || !st.contract || st.running > 0) return { events: [], value: { contractId: p.id, released: false } };
      const c = st.contract;
      const sessionId = firingSessionId(p.key, ctx.device);
      if (!st.found) throw notFoundWorkflow(c.workflow, c.workspace_id);
      const start = startDecision(sessionId, c.workspace_id, st.found.source, JSON.parse(c.inputs),
        { contract: contractEnv(c, { key: p.key, instant: Number(st.buffer.instant), source: st.buffer.source as Firing['source'] }) }, { installed: st.installed, runners: ctx.runners });
      return { events: [{ stream: contractStream(c.id), type: 'contract.released', payload: { id: c.id, key: p.key, sessionId } }, ...start.events], value: { contractId: c.id, sessionId, released: true } };
    },
  },
]);

function toggle<T extends 'contract.enable' | 'contract.disable'>(type: T, on: boolean) {
  return {
    type,
    concurrent: 'The later in merge order of an enable and a disable wins.',
    description: on ? 'Turn a contract on: its trigger fires from now on (instants while it was off are not caught up).' : 'Turn a contract off: nothing fires until it is turned on again.',
    schema: refSchema, mutates: true, audit: on ? 'contract.enabled' : 'contract.disabled',
    load: (r: Reader, p: z.output<typeof refSchema>) => contractRow(r, p.id),
    decide: (row: ContractRow | undefined, p: z.output<typeof refSchema>): Decision => {
      const c = mustContract(row, p.id);
      if (Boolean(c.enabled) === on) return { events: [], value: { id: p.id, enabled: on } };
      return { events: [{ stream: contractStream(p.id), type: on ? 'contract.enabled' : 'contract.disabled', payload: { id: p.id } }], value: { id: p.id, enabled: on } };
    },
  } as const;
}

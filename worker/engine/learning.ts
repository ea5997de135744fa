/**
 * Learning from past runs: when a session ends (succeeded or failed; a cancelled run teaches
 * nothing), a summary node goes into the Forest, so a later run's `forest.search` can put it in a
 * prompt. The summary links back to what the run used: a `read_by` link from every node the run
 * read (forest.search hits) and a `wrote` link to every node it wrote (forest.write).
 *
 * Summary node (in the session's workspace, and its project while that is active): title `<workflow> run <short id>: <outcome>`, a markdown body (inputs, outcome,
 * error, outputs, steps with statuses and short outputs), tags `session`, `workflow:<name>`,
 * `<outcome>`, metadata `{ sessionId, workflow, version, outcome }`, sessionId.
 *
 * Invariants:
 * 1. Idempotent: the node id is derived from the session id; the first summary is created with
 *    idempotency key `session-summary:<sessionId>`; a later end of the same session (after
 *    session.retry) updates it (key `session-summary:<sessionId>/v<stream version>`); links use
 *    one key per (type, node) and forest.link.create is idempotent. Running it twice writes once.
 * 2. It never fails a session: it runs after the terminal event is committed, and every error is
 *    reported through `onError`. A summary the user deleted (archived) is not written again.
 * 3. The body is a function of the session's events alone, so a replay sends the same request.
 */
import type { Json } from '../kernel/errors.ts';
import type { CommandInput, CommandResult } from '../kernel/commands/envelope.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { sha256Hex } from '../kernel/log/hash.ts';
import { canonicalJson } from '../kernel/log/canonical.ts';
import { foldSession, type SessionState, type StepState } from '../domains/sessions/fold.ts';
import { derivedId } from '../domains/sessions/support.ts';
import { cut, sessionField, type ForestAccess } from './forest-runners.ts';
import { ask, type QueryPort } from './ask.ts';

export { withForestRunners } from './forest-runners.ts';

/** What learning needs of the kernel: commands, queries (of the sessions and Forest slices), events. */
export interface LearningKernel extends ForestAccess, QueryPort {
  hasQuery(name: string): boolean;
  readonly isClosed: boolean;
  commandBatch(inputs: readonly CommandInput[]): CommandResult[];
  subscribe(listener: (events: EventEnvelope[]) => void, options: { filter: { types: string[] } }): { close(): void };
  /** This database's device ids (sessions they own are this engine's to summarise). */
  ownDevices(): string[];
}

export interface LearnResult {
  readonly nodeId: string;
  readonly created: boolean;
  readonly read: string[];
  readonly wrote: string[];
  /** Links that could not be written (the summary itself was). */
  readonly errors: unknown[];
}

/** How many of the most recently ended sessions are checked for a missing summary on start. */
const CATCH_UP = 500;

/** The summary node's id: a UUID (version 8) from SHA-256 of `session-summary:<sessionId>`. */
export function summaryNodeId(sessionId: string): string {
  return derivedId(sha256Hex(`session-summary:${sessionId}`));
}

export interface SummaryPlan {
  readonly nodeId: string;
  readonly created: boolean;
  readonly read: string[];
  readonly wrote: string[];
  /** The node create/update (absent when nothing changed), then the links. */
  readonly node: CommandInput | undefined;
  readonly links: CommandInput[];
}

/** The commands that write (or refresh) a finished session's summary; undefined when it is not succeeded/failed. */
export function planSummary(k: LearningKernel, sessionId: string): SummaryPlan | undefined {
  const s = foldSession(ask(k, 'session.events', { sessionId }));
  if (!s || (s.status !== 'succeeded' && s.status !== 'failed')) return undefined;
  const nodeId = summaryNodeId(sessionId);
  const outcome = s.status;
  const blob = (hash: string): Json | undefined => ask(k, 'artifact.data', { hash }) ?? undefined;
  const fields = {
    title: `${s.workflow.name} run ${sessionId.slice(-8)}: ${outcome}`,
    body: summaryBody(s, blob),
    tags: ['session', `workflow:${s.workflow.name}`, outcome],
    metadata: { sessionId, workflow: s.workflow.name, version: s.workflow.version, outcome },
    ...sessionField(sessionId),
  };
  const existing = ask(k, 'forest.node.get', { id: nodeId });
  if (existing?.node.status === 'archived') return { nodeId, created: false, read: [], wrote: [], node: undefined, links: [] };
  const n = existing?.node;
  const same = n !== undefined && n.title === fields.title && n.body === fields.body && n.tags.join(' ') === fields.tags.join(' ') && canonicalJson(n.metadata) === canonicalJson(fields.metadata);
  const node: CommandInput | undefined = !existing
    ? { type: 'forest.node.create', payload: { nodeId, workspaceId: s.workspaceId, ...(projectOf(k, s.projectId) ? { projectId: s.projectId } : {}), ...fields }, idempotencyKey: `session-summary:${sessionId}`, actor: 'engine' }
    : same ? undefined : { type: 'forest.node.update', payload: { nodeId, ...fields }, idempotencyKey: `session-summary:${sessionId}/v${s.version}`, actor: 'engine' };
  const { read, wrote } = touched(s, blob);
  const links: CommandInput[] = [];
  const link = (from: string, to: string, type: 'read_by' | 'wrote', other: string): void => {
    if (other === nodeId) return;
    const target = ask(k, 'forest.node.get', { workspaceId: s.workspaceId, id: other });
    if (target?.node.status !== 'active') return; // deleted since (or not in this workspace): nothing to link
    links.push({ type: 'forest.link.create', payload: { from, to, type, ...sessionField(sessionId) }, idempotencyKey: `session-summary:${sessionId}/${type}/${other}`, actor: 'engine' });
  };
  for (const id of read) link(id, nodeId, 'read_by', id);
  for (const id of wrote) link(nodeId, id, 'wrote', id);
  return { nodeId, created: !existing, read, wrote, node, links };
}

/** The session's project when it is still active (an archived project takes nothing new). */
function projectOf(k: LearningKernel, projectId: string | undefined): boolean {
  if (!projectId) return false;
  const p = k.query('project.get', { projectId }) as { status: string } | null;
  return p?.status === 'active';
}

/** Write (or refresh) the summary of a finished session, one command at a time; undefined when it is not succeeded/failed. */
export function learnFromSession(k: LearningKernel, sessionId: string): LearnResult | undefined {
  const plan = planSummary(k, sessionId);
  if (!plan) return undefined;
  if (plan.node) k.command(plan.node);
  const errors: unknown[] = [];
  for (const c of plan.links) {
    try {
      k.command(c);
    } catch (err) {
      errors.push(err);
    }
  }
  return { nodeId: plan.nodeId, created: plan.created, read: plan.read, wrote: plan.wrote, errors };
}

/** Node ids the session read (forest.search hits) and wrote (forest.write), in step order. */
export function touched(s: SessionState, blob: (hash: string) => Json | undefined): { read: string[]; wrote: string[] } {
  const read = new Set<string>();
  const wrote = new Set<string>();
  for (const st of s.steps.values()) {
    for (const c of Object.values(st.context ?? {})) for (const id of c.read) read.add(id);
    if (st.status !== 'succeeded') continue;
    const out = outputOf(st, blob);
    if (typeof out !== 'object' || out === null || Array.isArray(out)) continue;
    const ids = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
    if (st.runner === 'forest.search' || st.runner === 'agent') for (const id of ids(out['read'])) read.add(id);
    if (st.runner === 'forest.write' || st.runner === 'agent') for (const id of [...ids(out['wrote']), ...(typeof out['nodeId'] === 'string' ? [out['nodeId']] : [])]) wrote.add(id);
  }
  return { read: [...read], wrote: [...wrote] };
}

function outputOf(st: StepState, blob: (hash: string) => Json | undefined): Json | undefined {
  return st.artifact ? blob(st.artifact.hash) : st.output;
}

const json = (v: Json | undefined, n: number): string => cut(JSON.stringify(v ?? null), n);

export function summaryBody(s: SessionState, blob: (hash: string) => Json | undefined): string {
  const lines: string[] = [`# ${s.workflow.name} run ${s.id.slice(-8)}: ${s.status}`, ''];
  const ended = s.endedAt !== undefined ? ` at ${new Date(s.endedAt).toISOString()}` : '';
  lines.push(`Session \`${s.id}\` of workflow \`${s.workflow.name}\` ${s.workflow.version} ${s.status}${ended}.`, '', '## Inputs', '');
  const inputs = Object.entries(s.inputs);
  if (inputs.length === 0) lines.push('(none)');
  for (const [k, v] of inputs) lines.push(`- ${k}: ${typeof v === 'string' ? cut(v, 300) : json(v, 300)}`);
  lines.push('', '## Outcome', '', s.status);
  if (s.status === 'failed' && s.error) {
    lines.push('', '## Error', '', `${s.error.type}${s.failedStep ? ` in step \`${s.failedStep}\`` : ''}: ${cut(s.error.message, 600)}`);
  }
  if (s.output !== undefined && s.output !== null) lines.push('', '## Outputs', '', '```json', cut(JSON.stringify(s.output, null, 2), 1500), '```');
  lines.push('', '## Steps', '');
  for (const st of [...s.steps.values()].slice(0, 100)) { // in the order they were first scheduled
    const detail = st.status === 'succeeded' ? outputLine(st, outputOf(st, blob)) : st.error ? `${st.error.type}: ${cut(st.error.message, 200)}` : '';
    lines.push(`- \`${st.key}\`${st.runner ? ` (${st.runner})` : ''}: ${st.status}${detail ? ` — ${detail}` : ''}`);
  }
  return lines.join('\n');
}

/** A short line for a step's output: an llm answer's JSON or text, else the output's JSON. */
function outputLine(st: StepState, out: Json | undefined): string {
  if (out === undefined || out === null) return '';
  if (typeof out === 'object' && !Array.isArray(out)) {
    if (st.runner === 'llm' || st.runner === 'agent') return out['json'] !== undefined ? json(out['json'], 400) : cut(String(out['text'] ?? ''), 400);
    if (st.runner === 'forest.search') return `${Array.isArray(out['read']) ? out['read'].length : 0} node(s) read`;
    if (st.runner === 'forest.write') return `wrote node ${String(out['nodeId'])}`;
  }
  return typeof out === 'string' ? cut(out, 240) : json(out, 240);
}

/**
 * The engine's hook: it sees every committed terminal event of a session (`session.succeeded` /
 * `session.failed`), whether the engine's own `session.record` or a command wrote it, and writes
 * the summary in a microtask (never inside the commit that ended the session). The engine creates
 * it in its constructor, counts `busy` as not idle, and stops it in `stop()`.
 */
export class SessionLearning {
  private readonly queue = new Set<string>();
  private scheduled = false;
  private stopped = false;
  private readonly sub: { close(): void };

  private waitingSince = 0;

  /**
   * `engineBusy` says whether the engine has sessions to plan: summaries wait for a quiet moment
   * (they are post-processing, not steps), but never longer than a second.
   */
  constructor(private readonly k: LearningKernel, private readonly onError: (err: unknown) => void, private readonly onDrained: () => void,
    private readonly engineBusy: () => boolean = () => false) {
    this.sub = k.subscribe((events) => { for (const e of events) this.observe(e); }, { filter: { types: ['session.succeeded', 'session.failed'] } });
    this.catchUp();
  }

  /**
   * A summary is written just after its session ended; a crash in between must not lose it. On
   * start, the most recently ended sessions without a summary node (alive or archived) are queued.
   */
  private catchUp(): void {
    if (!this.k.hasQuery('forest.node.get')) return; // no Forest module
    for (const { id, workspaceId } of ask(this.k, 'session.ended', { owners: this.k.ownDevices(), limit: CATCH_UP })) {
      if (ask(this.k, 'forest.node.get', { workspaceId, id: summaryNodeId(id) }) === null) this.queue.add(id);
    }
    if (this.queue.size > 0) {
      this.waitingSince = Date.now();
      this.kick(0);
    }
  }

  /** Summaries still to write. */
  get busy(): boolean {
    return this.queue.size > 0;
  }

  observe(e: EventEnvelope): void {
    if (this.stopped || (e.type !== 'session.succeeded' && e.type !== 'session.failed') || !e.stream.startsWith('session:')) return;
    // The owner's engine writes the summary; another device gets it by sync (one node, one writer).
    if (!this.k.ownDevices().includes(e.device)) return;
    if (this.queue.size === 0) this.waitingSince = Date.now();
    this.queue.add(e.stream.slice(8));
    this.kick(0);
  }

  private kick(delayMs: number): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setTimeout(() => {
      this.scheduled = false;
      if (this.stopped || this.k.isClosed) return;
      if (this.engineBusy() && Date.now() - this.waitingSince < 1_000) return this.kick(5);
      this.drain(64);
      this.waitingSince = Date.now();
      if (this.queue.size > 0) this.kick(0);
      this.onDrained();
    }, delayMs);
  }

  /** Write what is queued, then observe nothing more. */
  stop(): void {
    if (this.stopped) return;
    this.sub.close();
    if (!this.k.isClosed) this.drain();
    this.stopped = true;
    this.queue.clear();
  }

  /** Summaries of up to 256 sessions per transaction (like the engine's group commit); one by one if that fails. */
  private drain(max = Infinity): void {
    let done = 0;
    while (this.queue.size > 0 && done < max) {
      const ids = [...this.queue].slice(0, Math.min(256, max - done));
      done += ids.length;
      for (const id of ids) this.queue.delete(id);
      try {
        const cmds = ids.flatMap((id) => {
          const p = planSummary(this.k, id);
          return p ? [...(p.node ? [p.node] : []), ...p.links] : [];
        });
        if (cmds.length > 0) this.k.commandBatch(cmds);
        continue;
      } catch {
        // Fall back to one session, and one command, at a time: one bad link must not lose the others.
      }
      for (const id of ids) {
        try {
          for (const err of learnFromSession(this.k, id)?.errors ?? []) this.onError(err);
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }
}

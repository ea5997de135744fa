/**
 * Saved workflows as agent tools, backed by the kernel: a call starts a child session of the
 * agent's step (`session.start_child`, the command a `workflow` step uses) and waits for it to end.
 *
 * Invariants:
 * 1. The child's id derives from the call's idempotency key, and the start command's idempotency
 *    key from that id: a call re-run after a crash finds the same child (running or ended) instead
 *    of starting a second one.
 * 2. Arguments that are not valid inputs of the workflow reject `invalid_input` with the problems
 *    (an observation the model can correct) and start nothing.
 * 3. The wait ends on the child's terminal event or the request's abort signal; cancelling the
 *    child when its step stops running is the engine's job (it cancels a step's child sessions).
 * 4. Workflows are looked up in the calling session's workspace only (the child starts there too).
 */
import type { Kernel } from '../../kernel/kernel.ts';
import type { Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { RunnerError } from '../runners/types.ts';
import { derivedId } from '../../domains/sessions/support.ts';
import { sessionStream } from '../../domains/sessions/events.ts';
import { parseWorkflow, validateInputs, type Workflow } from '../../workflow/index.ts';
import type { WorkflowTools } from './tools.ts';
import { DEFAULT_WORKSPACE_ID } from '../../domains/workspaces/scope.ts';
import { ask } from '../ask.ts';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

export function kernelWorkflowTools(kernel: Kernel): WorkflowTools {
  const load = (ref: string, workspaceId: string): Workflow | string => {
    const found = ask(kernel, 'workflow.resolve', { workspaceId, ref });
    if (!found) return `there is no saved workflow ${ref} in this workspace`;
    const parsed = parseWorkflow(found.source);
    return parsed.ok ? parsed.workflow : `it does not parse: ${parsed.errors[0]!.message}`;
  };
  return {
    describe(ref, workspaceId) {
      const wf = load(ref, workspaceId ?? DEFAULT_WORKSPACE_ID);
      if (typeof wf === 'string') return { error: wf };
      return { description: wf.description ?? '', inputSchema: inputsJsonSchema(wf) };
    },
    async run(ref, inputs, call) {
      const wf = load(ref, workspaceOf(kernel, call.request.sessionId, call.request.workspaceId));
      if (typeof wf === 'string') throw new RunnerError('invalid_input', `The workflow ${ref} cannot run: ${wf}.`, false);
      const values = typeof inputs === 'object' && inputs !== null && !Array.isArray(inputs) ? inputs : {};
      const checked = validateInputs(wf, values);
      if (!checked.ok) throw new RunnerError('invalid_input', `Inputs for ${ref}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, false);
      const r = call.request;
      const sessionId = derivedId(sha256Hex(call.key));
      if (statusOf(kernel, sessionId) === undefined) {
        // The child runs in its parent's environment: the `env` its start event recorded.
        const first = ask(kernel, 'session.events', { sessionId: r.sessionId, limit: 1 })[0]?.payload as { env?: Json } | undefined;
        const env = first?.env;
        kernel.systemBatch([{
          type: 'session.start_child',
          payload: { sessionId, workflow: ref, inputs: values, env: typeof env === 'object' && env !== null && !Array.isArray(env) ? env : {}, parent: { sessionId: r.sessionId, step: r.stepKey, attempt: r.attempt } },
          idempotencyKey: `child:${sessionId}`,
          actor: 'engine',
        }]);
      }
      await ended(kernel, sessionId, r.signal);
      const o = ask(kernel, 'session.outcome', { sessionId });
      const status = String(o?.status);
      if (status === 'succeeded') return { sessionId, status, output: o?.output ?? null };
      const error = o?.error ?? null;
      throw new RunnerError('child_failed', `The workflow ${ref} ${status}${error?.message ? `: ${error.message}` : ''} (session ${sessionId}).`, false, { sessionId, status });
    },
  };
}

/** The JSON Schema of a workflow's inputs, as a tool's arguments. */
export function inputsJsonSchema(wf: Workflow): { [key: string]: Json } {
  const properties: { [k: string]: Json } = {};
  const required: string[] = [];
  for (const [name, spec] of Object.entries(wf.inputs)) {
    properties[name] = {
      type: spec.type,
      ...(spec.description !== undefined ? { description: spec.description } : {}),
      ...(spec.enum !== undefined ? { enum: spec.enum } : {}),
      ...(spec.default !== undefined ? { default: spec.default } : {}),
    };
    if (spec.required && spec.default === undefined) required.push(name);
  }
  return { type: 'object', properties, required, additionalProperties: false };
}

/** The calling session's workspace (its row when it has one: the kernel's word over the request's). */
function workspaceOf(kernel: Kernel, sessionId: string, given: string | undefined): string {
  return ask(kernel, 'session.outcome', { sessionId })?.workspaceId ?? given ?? DEFAULT_WORKSPACE_ID;
}

function statusOf(kernel: Kernel, id: string): string | undefined {
  return ask(kernel, 'session.outcome', { sessionId: id })?.status;
}

function ended(kernel: Kernel, id: string, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = sessionStream(id);
    let sub: { close(): void } | undefined;
    const finish = (err?: unknown): void => {
      sub?.close();
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err); else resolve();
    };
    const onAbort = (): void => finish(new RunnerError('aborted', 'the agent step was aborted while its workflow tool ran', false));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    sub = kernel.subscribe((events) => {
      if (events.some((e) => e.stream === stream) && ENDED.has(statusOf(kernel, id) ?? '')) finish();
    });
    if (ENDED.has(statusOf(kernel, id) ?? '')) finish();
  });
}

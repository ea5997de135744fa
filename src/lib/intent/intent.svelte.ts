/**
 * The command bar's state: a sentence becomes a session of the built-in intent workflow
 * (intent-workflow.ts); its answer becomes a proposal (answer.ts) the person confirms, edits and
 * starts, or cancels.
 *
 * Invariants:
 * 1. One request at a time: every submit or close bumps `#token`, and a late answer of an older
 *    request is dropped.
 * 2. The model is the first configured provider's first model (`provider/model`); with none, the
 *    phase is `no-provider` and nothing is started.
 * 3. Kernel failures land in `kernel.lastError` under SCOPE / START_SCOPE (shown by the bar).
 */
import type { Json } from '../../../worker/api.ts';
import { kernel } from '../kernel.svelte.ts';
import { href, navigate } from '../router.svelte.ts';
import { parseValues, type FieldValues } from '../workflows/inputs.ts';
import type { SessionDetail, WorkflowDef } from '../workflows/types.ts';
import { propose, readAnswer, type Proposal } from './answer.ts';
import { buildLibrary, INTENT_SOURCE } from './intent-workflow.ts';

export const SCOPE = 'intent';
export const START_SCOPE = 'intent.start';

export type IntentPhase = 'idle' | 'preparing' | 'running' | 'confirm' | 'failed' | 'no-provider';

interface ProviderRow {
  readonly id: string;
  readonly models: readonly string[];
}

/** `provider/model` of the first configured provider that lists a model, or null. */
export function firstModel(providers: readonly ProviderRow[]): string | null {
  const p = providers.find((x) => x.models.length > 0);
  return p ? `${p.id}/${p.models[0]}` : null;
}

class IntentState {
  /** The result panel under the bar is shown. */
  open = $state(false);
  text = $state('');
  phase = $state.raw<IntentPhase>('idle');
  /** The intent session (phases running, confirm, failed). */
  sessionId = $state.raw<string | null>(null);
  /** Why the request failed (phase failed), when it is not a kernel error. */
  problem = $state.raw<string | null>(null);
  proposal = $state.raw<Proposal | null>(null);
  values = $state<FieldValues>({});
  errors = $state.raw<Record<string, string>>({});
  /** Workflows left out of the prompt (size caps). */
  omitted = $state.raw(0);

  #token = 0;
  #defs = new Map<string, WorkflowDef>();
  #polling = false;

  get busy(): boolean {
    return this.phase === 'preparing' || this.phase === 'running';
  }

  async submit(): Promise<void> {
    const sentence = this.text.trim();
    if (sentence === '' || this.busy) return;
    const token = ++this.#token;
    this.#reset('preparing');
    this.open = true;
    kernel.clearError(SCOPE);
    const providers = await kernel.query(SCOPE, 'llm.provider.list');
    if (token !== this.#token) return;
    if (providers === null) return this.#fail(null);
    const model = firstModel(providers);
    if (model === null) {
      this.phase = 'no-provider';
      return;
    }
    const defs = await this.#loadLibrary();
    if (token !== this.#token) return;
    if (defs === null) return this.#fail(null);
    if (defs.length === 0) return this.#fail('The workflow library is empty: save a workflow (or install the examples) first.');
    this.#defs = new Map(defs.map((d) => [d.def.name, d.def]));
    const library = buildLibrary(defs);
    this.omitted = library.omitted;
    const r = await kernel.run(SCOPE, {
      type: 'session.start',
      payload: { source: INTENT_SOURCE, inputs: { sentence, library: library.entries as unknown as Json, model }, env: { origin: location.origin } },
    });
    if (token !== this.#token) return;
    if (r === null) return this.#fail(null);
    this.sessionId = (r.value as { sessionId: string }).sessionId;
    this.phase = 'running';
    await this.poll();
  }

  /** Read the intent session; on its end, show the proposal or the failure. Safe to call often. */
  async poll(): Promise<void> {
    const id = this.sessionId;
    if (id === null || this.phase !== 'running' || this.#polling) return;
    const token = this.#token;
    this.#polling = true;
    let s: SessionDetail | null;
    try {
      s = await kernel.query(SCOPE, 'session.get', { sessionId: id });
    } finally {
      this.#polling = false;
    }
    if (token !== this.#token || s === null || this.phase !== 'running') return;
    if (s.status === 'failed' || s.status === 'cancelled') {
      return this.#fail(s.error ? `${s.error.type}: ${s.error.message}` : `The intent session ${s.status}.`);
    }
    if (s.status !== 'succeeded') return;
    const output = s.output !== null && typeof s.output === 'object' && !Array.isArray(s.output) ? s.output['answer'] : null;
    const answer = readAnswer(output);
    if (answer === null) return this.#fail('The model did not name a workflow.');
    const checked = propose(answer, this.#defs);
    if (!checked.ok) return this.#fail(checked.problem);
    this.proposal = checked.proposal;
    this.values = { ...checked.proposal.values };
    this.errors = checked.proposal.errors;
    this.phase = 'confirm';
  }

  /** Start the proposed workflow with the (edited) inputs and open its session. */
  async start(): Promise<void> {
    const p = this.proposal;
    if (p === null) return;
    const parsed = parseValues(p.fields, this.values);
    if (!parsed.ok) {
      this.errors = parsed.errors;
      return;
    }
    this.errors = {};
    const r = await kernel.run(START_SCOPE, {
      type: 'session.start',
      payload: { workflow: p.def.name, inputs: parsed.inputs, env: { origin: location.origin } },
    });
    if (r === null || this.proposal !== p) return;
    this.close();
    this.text = '';
    navigate(href('sessions', (r.value as { sessionId: string }).sessionId));
  }

  /** Close the panel and forget the request (a running intent session is left to finish). */
  close(): void {
    this.#token++;
    this.#reset('idle');
    this.open = false;
    kernel.clearError(SCOPE);
    kernel.clearError(START_SCOPE);
  }

  /** Every workflow of the library with its normalised definition (for inputs), by name. */
  async #loadLibrary(): Promise<{ def: WorkflowDef; description: string }[] | null> {
    const list = await kernel.query(SCOPE, 'workflow.list');
    if (list === null) return null;
    const defs = await Promise.all(list.map(async (w) => {
      const rev = await kernel.query(SCOPE, 'workflow.get', { name: w.name });
      if (!rev?.source) return null;
      const v = await kernel.query(SCOPE, 'workflow.validate', { source: rev.source });
      return v?.ok ? { def: v.workflow, description: rev.description } : null;
    }));
    return defs.filter((d) => d !== null);
  }

  #reset(phase: IntentPhase): void {
    this.phase = phase;
    this.sessionId = null;
    this.problem = null;
    this.proposal = null;
    this.values = {};
    this.errors = {};
    this.omitted = 0;
  }

  #fail(problem: string | null): void {
    this.problem = problem;
    this.phase = 'failed';
  }
}

export const intent = new IntentState();

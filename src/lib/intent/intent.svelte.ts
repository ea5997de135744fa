/**
 * The command bar's state: a sentence becomes a session of the built-in intent workflow
 * (intent-workflow.ts); its answer becomes a proposal (answer.ts) the person confirms, edits and
 * starts, or cancels.
 *
 * Invariants:
 * 1. One request at a time: every submit or close bumps `#token`, and a late answer of an older
 *    request is dropped.
 * 2. The model is the person's choice (`choice`, remembered on this device per workspace:
 *    model-choice.ts) while it is configured, else the first configured provider's first model;
 *    with none, the phase is `no-provider` and nothing is started.
 * 3. Kernel failures land in `kernel.lastError` under SCOPE / START_SCOPE (shown by the bar); a
 *    failed request is `failure`, in words, with the run form to open instead (failure.ts).
 * 4. The intent session is shown by its readable name ("intent #3"), never a bare id.
 * 5. When no workflow does what was asked (the model answers "none", or the library is empty) the
 *    phase is `missing`: the request is recorded once as `capability.missing` (capability.report)
 *    and the bar offers the Dojo (find a kata in the realms, or draft one), never a failure.
 */
import type { Json } from '../../../worker/api.ts';
import { kernel } from '../kernel.svelte.ts';
import { href, navigate } from '../router.svelte.ts';
import { parseValues, type FieldValues } from '../workflows/inputs.ts';
import type { SessionDetail, WorkflowDef } from '../workflows/types.ts';
import { propose, readAnswer, type Proposal } from './answer.ts';
import { buildLibrary, INTENT_SOURCE, INTENT_STEP, NO_WORKFLOW } from './intent-workflow.ts';
import { answerFailure, guessWorkflow, sessionFailure, type IntentFailure } from './failure.ts';
import { chooseModel, modelRef, storeChoice, storedChoice, type ModelChoice } from './model-choice.ts';

export const SCOPE = 'intent';
export const START_SCOPE = 'intent.start';
export const MISSING_SCOPE = 'intent.missing';

export type IntentPhase = 'idle' | 'preparing' | 'running' | 'confirm' | 'failed' | 'no-provider' | 'missing';

/** A request no workflow meets (phase `missing`): the request, why, and its recorded miss. */
export interface Missing {
  readonly request: string;
  readonly explanation: string;
  /** The `capability.missing` record's id, once recorded (null if recording failed). */
  readonly missId: string | null;
}

interface ProviderRow {
  readonly id: string;
  readonly models: readonly string[];
}

/** `provider/model` of the first configured provider that lists a model, or null. */
export function firstModel(providers: readonly ProviderRow[]): string | null {
  const c = chooseModel(providers, null);
  return c ? modelRef(c) : null;
}

class IntentState {
  /** The result panel under the bar is shown. */
  open = $state(false);
  text = $state('');
  phase = $state.raw<IntentPhase>('idle');
  /** The intent session (phases running, confirm, failed). */
  sessionId = $state.raw<string | null>(null);
  /** The intent session's readable name ("intent #3"), once known. */
  sessionName = $state.raw<string | null>(null);
  /** Why the request failed (phase failed), when it is not a kernel error. */
  failure = $state.raw<IntentFailure | null>(null);
  /** The configured providers (for the model picker) and the one the next request asks. */
  providers = $state.raw<readonly ProviderRow[]>([]);
  choice = $state.raw<(ModelChoice & { readonly workspaceId: string }) | null>(null);
  proposal = $state.raw<Proposal | null>(null);
  values = $state<FieldValues>({});
  errors = $state.raw<Record<string, string>>({});
  /** Workflows left out of the prompt (size caps). */
  omitted = $state.raw(0);
  missing = $state.raw<Missing | null>(null);

  #token = 0;
  #sentence = '';
  #defs = new Map<string, WorkflowDef>();
  #polling = false;

  get busy(): boolean {
    return this.phase === 'preparing' || this.phase === 'running';
  }

  /** Read the configured providers and settle the choice (the remembered one while configured). */
  async loadProviders(): Promise<void> {
    const workspaceId = kernel.currentId;
    const list = await kernel.query(SCOPE, 'llm.provider.list');
    if (list === null || workspaceId !== kernel.currentId) return;
    this.providers = list.map((p) => ({ id: p.id, models: p.models }));
    const c = chooseModel(this.providers, this.choice?.workspaceId === workspaceId ? this.choice : storedChoice(workspaceId));
    this.choice = c ? { ...c, workspaceId } : null;
  }

  /** The person picks a provider (its first model, or the remembered one) or a model; remembered on this device. */
  choose(provider: string, model?: string): void {
    const p = this.providers.find((x) => x.id === provider);
    if (!p) return;
    const picked = chooseModel(this.providers, { provider, model: model ?? (this.choice?.provider === provider ? this.choice.model : p.models[0] ?? '') });
    if (!picked) return;
    this.choice = { ...picked, workspaceId: kernel.currentId };
    storeChoice(kernel.currentId, picked);
  }

  async submit(): Promise<void> {
    const sentence = this.text.trim();
    if (sentence === '' || this.busy) return;
    const token = ++this.#token;
    this.#reset('preparing');
    this.#sentence = sentence;
    this.open = true;
    kernel.clearError(SCOPE);
    await this.loadProviders();
    if (token !== this.#token) return;
    if (kernel.lastError?.scope === SCOPE) return this.#fail(null);
    const choice = this.choice;
    if (choice === null) {
      this.phase = 'no-provider';
      return;
    }
    const model = modelRef(choice);
    const defs = await this.#loadLibrary();
    if (token !== this.#token) return;
    if (defs === null) return this.#fail(null);
    if (defs.length === 0) return this.#missing(token, 'Your workflow library is empty.');
    this.#defs = new Map(defs.map((d) => [d.def.name, d.def]));
    const library = buildLibrary(defs);
    this.omitted = library.omitted;
    const r = await kernel.run(SCOPE, {
      type: 'session.start',
      payload: { source: INTENT_SOURCE, inputs: { sentence, library: library.entries as unknown as Json, model }, env: { origin: location.origin } },
    });
    if (token !== this.#token) return;
    if (r === null) return this.#fail(null);
    const sessionId = (r.value as { sessionId: string }).sessionId;
    this.sessionId = sessionId;
    this.phase = 'running';
    void kernel.query(SCOPE, 'session.names', { ids: [sessionId] }).then((names) => {
      if (this.sessionId === sessionId && names?.[0]) this.sessionName = names[0].name;
    });
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
    const names = [...this.#defs.keys()];
    if (s.status === 'failed' || s.status === 'cancelled') {
      const step = s.steps.find((x) => x.key === INTENT_STEP);
      const lastText = step?.error?.details['lastText'];
      const guess = guessWorkflow(names, this.#sentence, typeof lastText === 'string' ? [lastText] : []);
      return this.#fail(sessionFailure(s.error ?? null, s.status, guess));
    }
    if (s.status !== 'succeeded') return;
    const output = s.output !== null && typeof s.output === 'object' && !Array.isArray(s.output) ? s.output['answer'] : null;
    const answer = readAnswer(output);
    if (answer === null) return this.#fail(answerFailure('The model did not name a workflow.', 'no_workflow', guessWorkflow(names, this.#sentence)));
    if (answer.workflow === NO_WORKFLOW && !this.#defs.has(NO_WORKFLOW)) return this.#missing(token, answer.explanation);
    const checked = propose(answer, this.#defs);
    if (!checked.ok) return this.#fail(answerFailure(checked.problem, 'unknown_workflow', guessWorkflow(names, this.#sentence)));
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
    kernel.clearError(MISSING_SCOPE);
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
    this.sessionName = null;
    this.failure = null;
    this.proposal = null;
    this.values = {};
    this.errors = {};
    this.omitted = 0;
    this.missing = null;
  }

  /** No workflow does what was asked: say so, and record the miss for the Dojo (invariant 5). */
  async #missing(token: number, explanation: string): Promise<void> {
    const request = this.#sentence;
    this.missing = { request, explanation, missId: null };
    this.phase = 'missing';
    const r = await kernel.run(MISSING_SCOPE, {
      type: 'capability.report',
      payload: { request, source: 'intent', ...(explanation.trim() ? { explanation: explanation.trim().slice(0, 500) } : {}) },
    });
    if (token !== this.#token || r === null) return;
    this.missing = { request, explanation, missId: (r.value as { id: string }).id };
  }

  #fail(failure: IntentFailure | null): void {
    this.failure = failure;
    this.phase = 'failed';
  }
}

export const intent = new IntentState();

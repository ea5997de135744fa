/**
 * What the engine reads while planning, through the slices' queries (never their tables): secret
 * values (cached until a secret event), artifacts (small LRU-ish cache), child session outcomes
 * and child workflow checks.
 */
import type { Json } from '../kernel/errors.ts';
import { parseWorkflow, validateInputs } from '../workflow/index.ts';
import type { StepErrorData } from '../domains/sessions/events.ts';
import type { LlmProvider } from './llm/types.ts';
import { ask, type QueryPort } from './ask.ts';

export class EngineLookups {
  private secrets: Map<string, string> | undefined;
  private readonly blobs = new Map<string, Json>();

  constructor(private readonly kernel: QueryPort) {}

  private providers: LlmProvider[] | undefined;

  /** Forget cached secret values and provider configs (a secret or a provider changed). */
  secretsChanged(): void {
    this.secrets = undefined;
    this.providers = undefined;
  }

  /** Configured LLM providers with their API keys read from the secrets store. */
  llmProviders(): LlmProvider[] {
    this.providers ??= ask(this.kernel, 'llm.provider.list', {}).map((p) => {
      const apiKey = p.apiKeySecret ? this.secretValues().get(p.apiKeySecret) : undefined;
      return { id: p.id, kind: p.kind, baseUrl: p.baseUrl, models: p.models, ...(apiKey ? { apiKey } : {}) };
    });
    return this.providers;
  }

  secretValues(): Map<string, string> {
    this.secrets ??= new Map(Object.entries(ask(this.kernel, 'secret.values', {})));
    return this.secrets;
  }

  blob(hash: string): Json | undefined {
    let v = this.blobs.get(hash);
    if (v === undefined) {
      const data = ask(this.kernel, 'artifact.data', { hash });
      if (data === null) return undefined;
      v = data;
      if (this.blobs.size > 256) this.blobs.clear();
      this.blobs.set(hash, v);
    }
    return v;
  }

  childStatus(id: string): { status: string; output?: Json; error?: StepErrorData } | undefined {
    const o = ask(this.kernel, 'session.outcome', { sessionId: id });
    if (!o) return undefined;
    return { status: o.status, ...(o.output !== undefined ? { output: o.output } : {}), ...(o.error !== undefined ? { error: o.error } : {}) };
  }

  checkChild(ref: string, inputs: { [k: string]: Json }): string | null {
    const found = ask(this.kernel, 'workflow.resolve', { ref });
    if (!found) return `There is no saved workflow ${ref}; save it in the library first.`;
    const parsed = parseWorkflow(found.source);
    if (!parsed.ok) return `Workflow ${ref} does not parse: ${parsed.errors[0]!.message}`;
    const checked = validateInputs(parsed.workflow, inputs);
    return checked.ok ? null : `Inputs for ${ref}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  }
}

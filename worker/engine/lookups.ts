/**
 * What the engine reads while planning, through the slices' queries (never their tables): secret
 * values (cached per workspace until a secret event), artifacts (small LRU-ish cache), child
 * session outcomes and child workflow checks. Secrets, providers and workflows are always read in
 * one workspace: the session's.
 */
import type { Json } from '../kernel/errors.ts';
import { parseWorkflow, validateInputs } from '../workflow/index.ts';
import type { StepErrorData } from '../domains/sessions/events.ts';
import type { LlmProvider } from './llm/types.ts';
import { ask, type QueryPort } from './ask.ts';

export class EngineLookups {
  private readonly secrets = new Map<string, Map<string, string>>();
  private readonly providers = new Map<string, LlmProvider[]>();
  private readonly blobs = new Map<string, Json>();

  constructor(private readonly kernel: QueryPort) {}

  /** Forget cached secret values and provider configs (a secret or a provider changed). */
  secretsChanged(): void {
    this.secrets.clear();
    this.providers.clear();
  }

  /** A workspace's LLM providers with their API keys read from that workspace's secrets. */
  llmProviders(workspaceId: string): LlmProvider[] {
    let list = this.providers.get(workspaceId);
    if (!list) {
      const secrets = this.secretValues(workspaceId);
      list = ask(this.kernel, 'llm.provider.list', { workspaceId }).map((p) => {
        const apiKey = p.apiKeySecret ? secrets.get(p.apiKeySecret) : undefined;
        return { id: p.id, kind: p.kind, baseUrl: p.baseUrl, models: p.models, ...(apiKey ? { apiKey } : {}) };
      });
      this.providers.set(workspaceId, list);
    }
    return list;
  }

  /** A workspace's secret values by name. */
  secretValues(workspaceId: string): Map<string, string> {
    let m = this.secrets.get(workspaceId);
    if (!m) {
      m = new Map(Object.entries(ask(this.kernel, 'secret.values', { workspaceId })));
      this.secrets.set(workspaceId, m);
    }
    return m;
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

  checkChild(workspaceId: string, ref: string, inputs: { [k: string]: Json }): string | null {
    const found = ask(this.kernel, 'workflow.resolve', { workspaceId, ref });
    if (!found) return `There is no saved workflow ${ref} in this workspace; save it in the library first.`;
    const parsed = parseWorkflow(found.source);
    if (!parsed.ok) return `Workflow ${ref} does not parse: ${parsed.errors[0]!.message}`;
    const checked = validateInputs(parsed.workflow, inputs);
    return checked.ok ? null : `Inputs for ${ref}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  }
}

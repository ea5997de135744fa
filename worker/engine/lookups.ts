/**
 * What the engine reads from the kernel's tables while planning: secret values (cached until a
 * secret event), artifacts (small LRU-ish cache), child session outcomes and child workflow checks.
 */
import type { Json } from '../kernel/errors.ts';
import type { Reader } from '../kernel/module.ts';
import { parseWorkflow, validateInputs } from '../workflow/index.ts';
import { readSecrets } from '../domains/secrets/index.ts';
import { resolveWorkflowSource } from '../domains/sessions/commands.ts';
import type { StepErrorData } from '../domains/sessions/events.ts';
import { readProviders } from '../domains/providers/index.ts';
import type { LlmProvider } from './llm/types.ts';

export class EngineLookups {
  private secrets: Map<string, string> | undefined;
  private readonly blobs = new Map<string, Json>();

  constructor(private readonly sql: Reader) {}

  private providers: LlmProvider[] | undefined;

  /** Forget cached secret values and provider configs (a secret or a provider changed). */
  secretsChanged(): void {
    this.secrets = undefined;
    this.providers = undefined;
  }

  /** Configured LLM providers with their API keys read from the secrets store. */
  llmProviders(): LlmProvider[] {
    this.providers ??= readProviders(this.sql).map((p) => {
      const apiKey = p.apiKeySecret ? this.secretValues().get(p.apiKeySecret) : undefined;
      return { id: p.id, kind: p.kind, baseUrl: p.baseUrl, models: p.models, ...(apiKey ? { apiKey } : {}) };
    });
    return this.providers;
  }

  secretValues(): Map<string, string> {
    this.secrets ??= readSecrets(this.sql);
    return this.secrets;
  }

  blob(hash: string): Json | undefined {
    let v = this.blobs.get(hash);
    if (v === undefined) {
      const data = this.sql.value('SELECT data FROM blobs WHERE hash = ?', [hash]);
      if (typeof data !== 'string') return undefined;
      v = JSON.parse(data) as Json;
      if (this.blobs.size > 256) this.blobs.clear();
      this.blobs.set(hash, v);
    }
    return v;
  }

  childStatus(id: string): { status: string; output?: Json; error?: StepErrorData } | undefined {
    const row = this.sql.get('SELECT status, output, error FROM sessions WHERE id = ?', [id]);
    if (!row) return undefined;
    return {
      status: String(row['status']),
      ...(typeof row['output'] === 'string' ? { output: JSON.parse(row['output']) as Json } : {}),
      ...(typeof row['error'] === 'string' ? { error: JSON.parse(row['error']) as StepErrorData } : {}),
    };
  }

  checkChild(ref: string, inputs: { [k: string]: Json }): string | null {
    const found = resolveWorkflowSource(this.sql, ref);
    if (!found) return `There is no saved workflow ${ref}; save it in the library first.`;
    const parsed = parseWorkflow(found.source);
    if (!parsed.ok) return `Workflow ${ref} does not parse: ${parsed.errors[0]!.message}`;
    const checked = validateInputs(parsed.workflow, inputs);
    return checked.ok ? null : `Inputs for ${ref}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  }
}

/**
 * What the engine reads from the kernel's tables while planning: secret values (cached per
 * workspace until a secret event), artifacts (small LRU-ish cache), child session outcomes and
 * child workflow checks. Secrets, providers and workflows are always read in one workspace: the
 * session's.
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
  private readonly secrets = new Map<string, Map<string, string>>();
  private readonly providers = new Map<string, LlmProvider[]>();
  private readonly blobs = new Map<string, Json>();

  constructor(private readonly sql: Reader) {}

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
      list = readProviders(this.sql, workspaceId).map((p) => {
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
      m = readSecrets(this.sql, workspaceId);
      this.secrets.set(workspaceId, m);
    }
    return m;
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

  checkChild(workspaceId: string, ref: string, inputs: { [k: string]: Json }): string | null {
    const found = resolveWorkflowSource(this.sql, workspaceId, ref);
    if (!found) return `There is no saved workflow ${ref} in this workspace; save it in the library first.`;
    const parsed = parseWorkflow(found.source);
    if (!parsed.ok) return `Workflow ${ref} does not parse: ${parsed.errors[0]!.message}`;
    const checked = validateInputs(parsed.workflow, inputs);
    return checked.ok ? null : `Inputs for ${ref}: ${checked.errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`;
  }
}

/**
 * LLM providers configured in the app: any OpenAI-compatible Chat Completions endpoint (OpenAI,
 * Ollama, LM Studio, vLLM, OpenRouter, … by base URL) or the Anthropic Messages API. The API key is
 * NOT part of the configuration: it lives in the secrets store and the provider names the secret.
 * Providers belong to a workspace (ids unique per workspace); the key secret is read from the same
 * workspace.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';
import { SECRET_NAME } from '../secrets/index.ts';
import { assertActiveWorkspace, toDefaultWorkspace, workspaceField, workspaceIdSchema, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';

export const PROVIDER_ID = /^[a-z][a-z0-9_-]{0,39}$/;

const providerFields = {
  id: z.string().regex(PROVIDER_ID, 'a provider id is lower-case letters, digits, _ and -, starting with a letter (e.g. openai, ollama)'),
  kind: z.enum(['openai', 'anthropic']),
  baseUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'the base URL must be http(s)'),
  models: z.array(z.string().min(1).max(200)).min(1).max(200),
  /** Name of the secret holding the API key (absent: no key, e.g. a local Ollama). */
  apiKeySecret: z.string().regex(SECRET_NAME).optional(),
};
const providerSchema = z.strictObject({ workspaceId: workspaceField, ...providerFields });
const providerSetEvent = z.strictObject({ workspaceId: workspaceIdSchema, ...providerFields });

export type ProviderConfig = Omit<z.infer<typeof providerSchema>, 'workspaceId'>;
type ProviderSet = z.infer<typeof providerSchema>;

const providerStream = (workspaceId: string, id: string): string => `llm-provider:${workspaceId}/${id}`;

/** The LLM providers of one workspace, by id. */
export function readProviders(r: Reader, workspaceId: string): ProviderConfig[] {
  return r.all('SELECT id, kind, base_url, models, api_key_secret FROM llm_providers WHERE workspace_id = ? ORDER BY id', [workspaceId]).map((x) => ({
    id: String(x['id']), kind: x['kind'] as 'openai' | 'anthropic', baseUrl: String(x['base_url']),
    models: JSON.parse(String(x['models'])) as string[],
    ...(x['api_key_secret'] ? { apiKeySecret: String(x['api_key_secret']) } : {}),
  }));
}

/** `provider/model` names its provider; a bare model goes to the first provider that lists it. */
export function pickProvider(providers: readonly ProviderConfig[], model: string): { provider: ProviderConfig; model: string } | undefined {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const p = providers.find((x) => x.id === model.slice(0, slash));
    if (p) return { provider: p, model: model.slice(slash + 1) };
  }
  const p = providers.find((x) => x.models.includes(model));
  return p ? { provider: p, model } : undefined;
}

export const providersModule = {
  name: 'llm-providers',
  commands: defineCommands([
    {
      type: 'llm.provider.set',
      concurrent: "Two sets of the same provider: the later in merge order wins as a whole. The later of a set and a delete decides whether it exists.",
      description: 'Add or replace an LLM provider of a workspace (kind, base URL, models, and the name of the secret of that workspace holding its API key).',
      schema: providerSchema,
      mutates: true,
      audit: 'llm.provider.set',
      load: (r, p: ProviderSet) => workspaceStatus(r, p.workspaceId),
      decide: (ws: WorkspaceStatus, p: ProviderSet) => {
        assertActiveWorkspace(ws, p.workspaceId);
        return { events: [{ stream: providerStream(p.workspaceId, p.id), type: 'llm.provider_set', payload: p }], value: { id: p.id } };
      },
    },
    {
      type: 'llm.provider.delete',
      concurrent: "The later in merge order of a set and a delete decides whether the provider exists.",
      description: 'Remove an LLM provider of a workspace.',
      schema: z.strictObject({ workspaceId: workspaceField, id: z.string().regex(PROVIDER_ID) }),
      mutates: true,
      audit: 'llm.provider.deleted',
      load: (r, p: { workspaceId: string; id: string }) => r.value('SELECT 1 FROM llm_providers WHERE workspace_id = ? AND id = ?', [p.workspaceId, p.id]),
      decide: (found: unknown, p: { workspaceId: string; id: string }) => {
        if (!found) throw new KernelError('not_found', `There is no LLM provider ${p.id} in this workspace.`, { id: p.id, workspaceId: p.workspaceId });
        return { events: [{ stream: providerStream(p.workspaceId, p.id), type: 'llm.provider_deleted', payload: { workspaceId: p.workspaceId, id: p.id } }], value: { id: p.id } };
      },
    },
  ]),
  events: [
    // v2: workspaceId (v1 events are lifted into the default workspace).
    { type: 'llm.provider_set', version: 2, scope: 'workspace', concurrent: "The later in merge order wins as a whole; the later of a set and a delete decides whether it exists.", description: 'An LLM provider was configured in a workspace (no key: only the name of its secret).', schema: providerSetEvent, upcasters: [toDefaultWorkspace] },
    { type: 'llm.provider_deleted', version: 2, scope: 'workspace', concurrent: "The later in merge order of a set and a delete decides whether the provider exists.", description: 'An LLM provider of a workspace was removed.', schema: z.strictObject({ workspaceId: workspaceIdSchema, id: z.string() }), upcasters: [toDefaultWorkspace] },
  ],
  projections: [{
    name: 'llm_providers',
    // 2: keyed by (workspace_id, id).
    version: 2,
    tables: ['llm_providers'],
    createSql: `CREATE TABLE llm_providers (
      workspace_id TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, base_url TEXT NOT NULL, models TEXT NOT NULL,
      api_key_secret TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (workspace_id, id)) STRICT;`,
    eventTypes: ['llm.provider_set', 'llm.provider_deleted'],
    apply(e, w) {
      const p = e.payload as ProviderSet;
      if (e.type === 'llm.provider_deleted') {
        w.run('DELETE FROM llm_providers WHERE workspace_id = ? AND id = ?', [p.workspaceId, p.id]);
        return;
      }
      w.run(`INSERT INTO llm_providers (workspace_id, id, kind, base_url, models, api_key_secret, updated_at) VALUES (?,?,?,?,?,?,?)
             ON CONFLICT (workspace_id, id) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, models = excluded.models,
               api_key_secret = excluded.api_key_secret, updated_at = excluded.updated_at`,
        [p.workspaceId, p.id, p.kind, p.baseUrl, JSON.stringify(p.models), p.apiKeySecret ?? null, e.at]);
    },
  }],
  queries: defineQueries([{
    name: 'llm.provider.list',
    description: "A workspace's LLM providers (never their keys; apiKeySecret names the workspace's secret, keySet tells whether it exists).",
    schema: z.strictObject({ workspaceId: workspaceField }),
    run: (r, p: { workspaceId: string }, ctx) => {
      // Whether a key exists is the secrets slice's to answer (its query, never its table).
      const providers = readProviders(r, p.workspaceId);
      const names = providers.some((x) => x.apiKeySecret)
        ? new Set((ctx.query('secret.list', { workspaceId: p.workspaceId }) as { name: string }[]).map((x) => x.name)) : new Set<string>();
      return providers.map((x) => ({ ...x, keySet: x.apiKeySecret ? names.has(x.apiKeySecret) : false }));
    },
  }]),
} satisfies KernelModule;

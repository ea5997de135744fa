/**
 * LLM providers configured in the app: any OpenAI-compatible Chat Completions endpoint (OpenAI,
 * Ollama, LM Studio, vLLM, OpenRouter, … by base URL) or the Anthropic Messages API. The API key is
 * NOT part of the configuration: it lives in the secrets store and the provider names the secret.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';
import { SECRET_NAME } from '../secrets/index.ts';

export const PROVIDER_ID = /^[a-z][a-z0-9_-]{0,39}$/;

const providerSchema = z.strictObject({
  id: z.string().regex(PROVIDER_ID, 'a provider id is lower-case letters, digits, _ and -, starting with a letter (e.g. openai, ollama)'),
  kind: z.enum(['openai', 'anthropic']),
  baseUrl: z.string().url().refine((u) => /^https?:\/\//.test(u), 'the base URL must be http(s)'),
  models: z.array(z.string().min(1).max(200)).min(1).max(200),
  /** Name of the secret holding the API key (absent: no key, e.g. a local Ollama). */
  apiKeySecret: z.string().regex(SECRET_NAME).optional(),
});

export type ProviderConfig = z.infer<typeof providerSchema>;

export function readProviders(r: Reader): ProviderConfig[] {
  return r.all('SELECT id, kind, base_url, models, api_key_secret FROM llm_providers ORDER BY id').map((x) => ({
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
      description: 'Add or replace an LLM provider (kind, base URL, models, and the name of the secret holding its API key).',
      schema: providerSchema,
      mutates: true,
      audit: 'llm.provider.set',
      decide: (_: unknown, p: ProviderConfig) => ({
        events: [{ stream: `llm-provider:${p.id}`, type: 'llm.provider_set', payload: p }],
        value: { id: p.id },
      }),
    },
    {
      type: 'llm.provider.delete',
      description: 'Remove an LLM provider.',
      schema: z.strictObject({ id: z.string().regex(PROVIDER_ID) }),
      mutates: true,
      audit: 'llm.provider.deleted',
      load: (r, p: { id: string }) => r.value('SELECT 1 FROM llm_providers WHERE id = ?', [p.id]),
      decide: (found: unknown, p: { id: string }) => {
        if (!found) throw new KernelError('not_found', `There is no LLM provider ${p.id}.`, { id: p.id });
        return { events: [{ stream: `llm-provider:${p.id}`, type: 'llm.provider_deleted', payload: { id: p.id } }], value: { id: p.id } };
      },
    },
  ]),
  events: [
    { type: 'llm.provider_set', version: 1, description: 'An LLM provider was configured (no key: only the name of its secret).', schema: providerSchema },
    { type: 'llm.provider_deleted', version: 1, description: 'An LLM provider was removed.', schema: z.strictObject({ id: z.string() }) },
  ],
  projections: [{
    name: 'llm_providers',
    version: 1,
    tables: ['llm_providers'],
    createSql: `CREATE TABLE llm_providers (
      id TEXT PRIMARY KEY, kind TEXT NOT NULL, base_url TEXT NOT NULL, models TEXT NOT NULL,
      api_key_secret TEXT, updated_at TEXT NOT NULL) STRICT;`,
    eventTypes: ['llm.provider_set', 'llm.provider_deleted'],
    apply(e, w) {
      const p = e.payload as ProviderConfig;
      if (e.type === 'llm.provider_deleted') {
        w.run('DELETE FROM llm_providers WHERE id = ?', [p.id]);
        return;
      }
      w.run(`INSERT INTO llm_providers (id, kind, base_url, models, api_key_secret, updated_at) VALUES (?,?,?,?,?,?)
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, models = excluded.models,
               api_key_secret = excluded.api_key_secret, updated_at = excluded.updated_at`,
        [p.id, p.kind, p.baseUrl, JSON.stringify(p.models), p.apiKeySecret ?? null, e.at]);
    },
  }],
  queries: defineQueries([{
    name: 'llm.provider.list',
    description: 'Configured LLM providers (never their keys; apiKeySecret names the secret, keySet tells whether it exists).',
    schema: z.strictObject({}),
    run: (r, _p: Record<string, never>, ctx) => {
      // Whether a key exists is the secrets slice's to answer (its query, never its table).
      const providers = readProviders(r);
      const names = providers.some((p) => p.apiKeySecret) ? new Set((ctx.query('secret.list') as { name: string }[]).map((x) => x.name)) : new Set<string>();
      return providers.map((p) => ({ ...p, keySet: p.apiKeySecret ? names.has(p.apiKeySecret) : false }));
    },
  }]),
} satisfies KernelModule;

/**
 * LLM provider settings as the Settings screen edits them. Pure helpers; the key itself only ever
 * goes to `secret.set` and is never read back.
 */
import type { QueryResult } from '../../../worker/api.ts';

export type ProviderKind = 'openai' | 'anthropic';

/** A provider as `llm.provider.list` answers it (inferred from the providers slice). */
export type Provider = QueryResult<'llm.provider.list'>[number];

export const DEFAULT_BASE_URL: Record<ProviderKind, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
};

export const PROVIDER_ID = /^[a-z][a-z0-9_-]{0,39}$/;

/** The secret that holds a provider's key: `LLM_<ID>_KEY` (id upper-cased, '-' → '_'). */
export function keySecretName(id: string): string {
  return `LLM_${id.toUpperCase().replace(/[^A-Z0-9_]/g, '_')}_KEY`;
}

export function modelList(text: string): string[] {
  const out: string[] = [];
  for (const m of text.split(',').map((s) => s.trim())) if (m && !out.includes(m)) out.push(m);
  return out;
}

/**
 * The `llm` runner: one LLM step (or llm hook) per attempt, through the provider clients.
 *
 * Input (rendered by the engine): `model` (`provider/model`, or a bare model the resolver knows),
 * `prompt`, and optionally `system`, `outputSchema` (a JSON Schema object), `temperature` (≥ 0),
 * `maxTokens` (a positive integer). `null` counts as absent; other keys are ignored.
 *
 * Output: `{ text, json (only with outputSchema), model, provider, usage: { inputTokens,
 * outputTokens }, latencyMs, finishReason, attempts }`; usage and latencyMs add up every
 * structured-output try.
 *
 * Invariants:
 * 1. With an outputSchema the answer must parse as JSON and validate (validate.ts). Otherwise the
 *    conversation goes on — prompt, the bad answer, "Your answer did not match the schema:
 *    <errors>. Reply with JSON only." — up to `maxOutputRetries` more tries, then rejects
 *    `invalid_output` (not retryable, details: errors, lastAnswer, attempts).
 * 2. Try n ≥ 2 sends `Idempotency-Key: <key>/output-<n>` (the first sends the engine's key as is):
 *    a different body must not reuse a key a gateway may have stored.
 * 3. Provider failures are typed RunnerErrors (errors.ts); no provider for the model is
 *    `runner_unavailable`; a bad input is `invalid_input`. request.signal aborts promptly.
 */
import type { Json } from '../../kernel/errors.ts';
import { RunnerError, type RunRequest, type Runner } from '../runners/types.ts';
import { completeAnthropic } from './anthropic.ts';
import { completeOpenAI } from './openai.ts';
import type { LlmClient, LlmMessage, LlmProvider, LlmProviderKind, LlmRequest, LlmResponse } from './types.ts';
import { formatSchemaErrors, validateJson, type SchemaError } from './validate.ts';

export interface LlmRunnerOptions {
  /** The provider serving a model (as written in the workflow); default: createProviderResolver(providers). */
  readonly resolve?: (model: string) => LlmProvider | undefined;
  /**
   * The configured providers (health; the default resolver). A function is read per call, with the
   * request's workspace (the engine passes the session's; health asks without one).
   */
  readonly providers?: readonly LlmProvider[] | ((workspaceId?: string) => readonly LlmProvider[]);
  readonly fetch?: typeof fetch;
  /** Extra tries after an answer that does not match the outputSchema (default 2). */
  readonly maxOutputRetries?: number;
  /** Streamed text per step; setting it turns streaming on. */
  readonly onToken?: (request: RunRequest, text: string) => void;
  /** Stream answers (SSE); default: true when onToken is set. */
  readonly stream?: boolean;
  /** Deadline of each provider request, ms (`timeout`, retryable); default none (the engine's step timeout applies). */
  readonly timeoutMs?: number;
}

export const DEFAULT_MAX_OUTPUT_RETRIES = 2;
const CLIENTS: { readonly [K in LlmProviderKind]: LlmClient } = { openai: completeOpenAI, anthropic: completeAnthropic };

export interface LlmInput {
  readonly model: string;
  readonly prompt: string;
  readonly system?: string;
  readonly outputSchema?: { readonly [key: string]: Json };
  readonly temperature?: number;
  readonly maxTokens?: number;
}

/**
 * A resolver over a provider list: `id/model` picks the provider with that id (any model name);
 * otherwise the first provider listing the model, else one listing the whole `a/b` name.
 */
export function createProviderResolver(providers: readonly LlmProvider[] | (() => readonly LlmProvider[])): (model: string) => LlmProvider | undefined {
  const list = typeof providers === 'function' ? providers : () => providers;
  return (model) => {
    const all = list();
    const slash = model.indexOf('/');
    if (slash > 0) {
      const byId = all.find((p) => p.id === model.slice(0, slash));
      if (byId) return byId;
    }
    return all.find((p) => p.models.includes(model));
  };
}

/** The provider and the model name to send it: a `<provider.id>/` prefix is dropped. */
export function resolveModel(resolve: (model: string) => LlmProvider | undefined, model: string): { provider: LlmProvider; model: string } | undefined {
  const provider = resolve(model);
  if (!provider) return undefined;
  const prefix = `${provider.id}/`;
  const bare = model.startsWith(prefix) && !provider.models.includes(model) ? model.slice(prefix.length) : model;
  return { provider, model: bare };
}

/** The provider, model name, client and fetch for a model as written in a step; `runner_unavailable` when there is none. */
export function connectModel(resolve: (model: string) => LlmProvider | undefined, model: string, fetchImpl: typeof fetch | undefined, who: string): { target: { provider: LlmProvider; model: string }; client: LlmClient; fetch: typeof fetch } {
  const target = resolveModel(resolve, model);
  if (!target) throw new RunnerError('runner_unavailable', `${who}: no provider is configured for model "${model}"`, false, { model });
  const client = CLIENTS[target.provider.kind];
  if (!client) throw new RunnerError('runner_unavailable', `${who}: provider "${target.provider.id}" has an unknown kind`, false, { provider: target.provider.id });
  const doFetch = fetchImpl ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
  if (!doFetch) throw new RunnerError('runner_unavailable', `${who}: fetch is not available in this environment`, false);
  return { target, client, fetch: doFetch };
}

export function createLlmRunner(options: LlmRunnerOptions): Runner {
  const providers = options.providers;
  const list = (workspaceId?: string): readonly LlmProvider[] => (providers === undefined ? [] : typeof providers === 'function' ? providers(workspaceId) : providers);
  const resolveIn = (workspaceId: string | undefined): ((model: string) => LlmProvider | undefined) => options.resolve ?? createProviderResolver(() => list(workspaceId));
  const maxOutputRetries = options.maxOutputRetries ?? DEFAULT_MAX_OUTPUT_RETRIES;
  if (!Number.isSafeInteger(maxOutputRetries) || maxOutputRetries < 0) throw new RangeError(`maxOutputRetries must be a non-negative integer, got ${maxOutputRetries}`);
  return {
    name: 'llm',
    capabilities: {
      pure: false,
      network: true,
      stepTypes: ['llm', 'hook'],
      description: 'Calls a language model (OpenAI-compatible or Anthropic); validates structured output against outputSchema.',
    },
    health: () => {
      if (providers === undefined) return Promise.resolve({ ok: true, detail: 'a provider resolver is configured' });
      const n = list().length;
      return Promise.resolve(n > 0 ? { ok: true, detail: `${n} LLM provider${n === 1 ? '' : 's'} configured` } : { ok: false, detail: 'No LLM provider is configured.' });
    },
    execute: (request) => execute(request, { ...options, resolve: resolveIn(request.workspaceId), maxOutputRetries }),
  };
}

async function execute(request: RunRequest, options: LlmRunnerOptions & { resolve: (model: string) => LlmProvider | undefined; maxOutputRetries: number }): Promise<Json> {
  const input = parseLlmInput(request.input);
  const { target, client, fetch: doFetch } = connectModel(options.resolve, input.model, options.fetch, 'llm');

  const onToken = options.onToken;
  const messages: LlmMessage[] = [{ role: 'user', content: input.prompt }];
  let inputTokens = 0;
  let outputTokens = 0;
  let latencyMs = 0;
  for (let attempt = 1; ; attempt++) {
    const llmRequest: LlmRequest = {
      model: target.model,
      messages: [...messages],
      ...(input.system !== undefined ? { system: input.system } : {}),
      ...(input.outputSchema !== undefined ? { outputSchema: input.outputSchema } : {}),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}),
    };
    const response: LlmResponse = await client(target.provider, llmRequest, {
      fetch: doFetch,
      signal: request.signal,
      stream: options.stream ?? onToken !== undefined,
      ...(onToken ? { onToken: (text: string) => onToken(request, text) } : {}),
      idempotencyKey: attempt === 1 ? request.idempotencyKey : `${request.idempotencyKey}/output-${attempt}`,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      now: request.now,
    });
    inputTokens += response.usage.inputTokens;
    outputTokens += response.usage.outputTokens;
    latencyMs += response.latencyMs;
    const out: { [key: string]: Json } = {
      text: response.text,
      model: response.model,
      provider: response.provider,
      usage: { inputTokens, outputTokens },
      latencyMs,
      finishReason: response.finishReason,
      attempts: attempt,
    };
    if (input.outputSchema === undefined) return out;
    const errors: SchemaError[] = response.json === undefined
      ? [{ path: '$', message: response.jsonError ?? 'the answer is not valid JSON' }]
      : validateJson(response.json, input.outputSchema);
    if (errors.length === 0) return { ...out, json: response.json ?? null };
    if (attempt > options.maxOutputRetries) {
      const truncated = response.finishReason === 'length' ? ' (the answer was cut off at maxTokens)' : '';
      throw new RunnerError('invalid_output', `llm: the answer did not match the outputSchema after ${attempt} tr${attempt === 1 ? 'y' : 'ies'}${truncated}: ${formatSchemaErrors(errors)}`, false, {
        errors: errors.map((e) => ({ path: e.path, message: e.message })),
        lastAnswer: response.text,
        attempts: attempt,
        provider: response.provider,
        model: response.model,
      });
    }
    messages.push({ role: 'assistant', content: response.text.trim() === '' ? '(empty answer)' : response.text });
    messages.push({ role: 'user', content: feedback(errors) });
  }
}

/** The follow-up message after an answer that failed the schema. */
export function feedback(errors: readonly SchemaError[]): string {
  return `Your answer did not match the schema: ${formatSchemaErrors(errors)}. Reply with JSON only.`;
}

export function parseLlmInput(raw: { readonly [key: string]: Json }, who = 'llm'): LlmInput {
  const get = (k: string): Json | undefined => (raw[k] === null ? undefined : raw[k]);
  const model = get('model');
  if (typeof model !== 'string' || model.trim() === '') invalid('"model" is required and must be a non-empty string', who);
  const prompt = get('prompt');
  if (typeof prompt !== 'string') invalid('"prompt" is required and must be a string', who);
  const system = get('system');
  if (system !== undefined && typeof system !== 'string') invalid('"system" must be a string', who);
  const schema = get('outputSchema');
  if (schema !== undefined && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) invalid('"outputSchema" must be a JSON Schema object', who);
  const temperature = get('temperature');
  if (temperature !== undefined && (typeof temperature !== 'number' || !Number.isFinite(temperature) || temperature < 0)) invalid('"temperature" must be a number ≥ 0', who);
  const maxTokens = get('maxTokens');
  if (maxTokens !== undefined && (typeof maxTokens !== 'number' || !Number.isSafeInteger(maxTokens) || maxTokens <= 0)) invalid('"maxTokens" must be a positive integer', who);
  return {
    model: model.trim(),
    prompt,
    ...(system !== undefined ? { system } : {}),
    ...(schema !== undefined ? { outputSchema: schema } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
  };
}

function invalid(message: string, who = 'llm'): never {
  throw new RunnerError('invalid_input', `${who}: ${message}`, false);
}

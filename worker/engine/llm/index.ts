/**
 * LLM steps: provider clients (OpenAI-compatible, Anthropic), the structured-output validator and
 * the `llm` runner.
 */
export * from './types.ts';
export { completeOpenAI, openaiBody, openaiUrl } from './openai.ts';
export { completeAnthropic, anthropicBody, anthropicUrl, ANTHROPIC_VERSION, DEFAULT_MAX_TOKENS, OUTPUT_TOOL } from './anthropic.ts';
export { validateJson, formatSchemaErrors, deepEqual, type SchemaError } from './validate.ts';
export { toProviderSchema, parseAnswer, isStrictCompatible, normaliseFinish, type JsonSchema, type ProviderSchema, type ParsedAnswer } from './schema.ts';
export { readSse, SseParser, type SseEvent } from './sse.ts';
export { retryAfterMs, parseDuration, statusError, failureError, parseFailure, isContextLength, guarded, type ProviderFailure } from './errors.ts';
export { createLlmRunner, createProviderResolver, resolveModel, feedback, DEFAULT_MAX_OUTPUT_RETRIES, type LlmRunnerOptions } from './runner.ts';

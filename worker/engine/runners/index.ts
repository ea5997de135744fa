/**
 * Runners: the interface (types.ts), the built-in runners and the registry.
 */
export * from './types.ts';
export { createHttpRunner, parseRetryAfter, DEFAULT_MAX_BODY_BYTES, HTTP_METHODS, type HttpMethod, type HttpRunnerOptions } from './http.ts';
export { createTransformRunner } from './transform.ts';
export { createLlmSlot, isLlmSlot } from './llm-slot.ts';
export { createFailRunner, createFlakyRunner, createNoopRunner, createSleepRunner, demoRunners, MAX_SLEEP_MS } from './demo.ts';
export { RunnerRegistry, defaultRunners, type RunnerInfo } from './registry.ts';

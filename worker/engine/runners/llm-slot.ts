/**
 * The `llm` slot: reserves the runner name and step type for LLM steps, which arrive in a later
 * release. Until a provider is configured, health is not ok and every execution fails with
 * `runner_unavailable` (not retryable).
 */
import { RunnerError, type Runner } from './types.ts';

export function createLlmSlot(): Runner {
  return {
    name: 'llm',
    capabilities: { pure: false, network: true, stepTypes: ['llm', 'hook'], description: 'Calls a language model (no provider is configured yet).' },
    health: () => Promise.resolve({ ok: false, detail: 'No LLM provider configured yet (comes with LLM steps).' }),
    execute: () => Promise.reject(new RunnerError('runner_unavailable', 'No LLM provider is configured: llm steps arrive in a later release.', false)),
  };
}

/**
 * The `llm` slot: a placeholder that reserves the runner name and step type for LLM steps in a
 * registry that is not bound to a kernel (`defaultRunners()` on its own). Health is not ok and
 * every execution fails with `runner_unavailable` (not retryable).
 *
 * The engine never runs llm steps on it: it binds the `llm` runner to the providers configured in
 * the kernel (engine-runners.ts), and a slot among an engine's custom runners (as in
 * `runners: [...defaultRunners(), mine]`) is dropped in favour of that bound runner.
 */
import { RunnerError, type Runner } from './types.ts';

const slots = new WeakSet<Runner>();

export function createLlmSlot(): Runner {
  const slot: Runner = {
    name: 'llm',
    capabilities: { pure: false, network: true, stepTypes: ['llm', 'hook'], description: 'Calls a language model (placeholder: the engine binds it to the configured providers).' },
    health: () => Promise.resolve({ ok: false, detail: 'Placeholder: not bound to any LLM provider (the engine binds llm steps to the providers configured in the kernel).' }),
    execute: () => Promise.reject(new RunnerError('runner_unavailable', 'This llm runner is an unbound placeholder: run llm steps through the engine, which uses the providers configured with llm.provider.set.', false)),
  };
  slots.add(slot);
  return slot;
}

/** Whether `runner` is a placeholder made by createLlmSlot. */
export function isLlmSlot(runner: Runner): boolean {
  return slots.has(runner);
}

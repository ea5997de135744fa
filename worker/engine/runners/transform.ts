/**
 * The `transform` runner: returns `input.value` as it is. The engine has already rendered every
 * template inside it, so this is how a workflow shapes data (`with: { value: { ... } }`).
 *
 * Invariants:
 * 1. Pure: no side effects, the same input gives the same output.
 * 2. A missing `value` is `invalid_input` (not retryable); `null` is a value.
 */
import { RunnerError, type Runner } from './types.ts';

export function createTransformRunner(): Runner {
  return {
    name: 'transform',
    capabilities: { pure: true, network: false, stepTypes: ['task', 'hook'], description: 'Returns its rendered `value`: shapes data with templates.' },
    health: () => Promise.resolve({ ok: true, detail: 'built in' }),
    execute: (request) => {
      const value = request.input['value'];
      if (value === undefined) return Promise.reject(new RunnerError('invalid_input', 'transform: "value" is required (the data to return)', false));
      return Promise.resolve(value);
    },
  };
}

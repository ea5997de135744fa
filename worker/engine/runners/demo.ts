/**
 * Demo runners: show engine features (durable waits, retries, failure handling) offline.
 *
 * - `demo.sleep`  `{ ms: 0..600000, value? }` → `{ sleptMs, value }` after `ms` (value null when absent).
 * - `demo.flaky`  `{ failTimes: integer ≥ 0, value? }` → fails with retryable `flaky` while
 *                 `tryNumber <= failTimes`, then `{ attempt: tryNumber, value }`.
 * - `demo.fail`   `{ type = 'demo_failure', message?, retryable = false }` → always rejects.
 * - `noop`        resolves `null` at once (benchmarks).
 *
 * Invariants:
 * 1. Each rejects with `aborted` when the signal is already aborted; `demo.sleep` also rejects
 *    promptly when it aborts mid-sleep and clears its timer.
 * 2. Bad input is `invalid_input` (not retryable).
 */
import type { Json } from '../../kernel/errors.ts';
import { RunnerError, type RunRequest, type Runner, type RunnerCapabilities } from './types.ts';

export const MAX_SLEEP_MS = 600_000;

function caps(description: string): RunnerCapabilities {
  return { pure: false, network: false, stepTypes: ['task'], description };
}

const healthy = (): Promise<{ ok: boolean; detail: string }> => Promise.resolve({ ok: true, detail: 'built in (demo)' });

function abortedError(name: string): RunnerError {
  return new RunnerError('aborted', `${name} was aborted`, false);
}

function invalid(name: string, message: string): never {
  throw new RunnerError('invalid_input', `${name}: ${message}`, false);
}

function valueOf(request: RunRequest): Json {
  return request.input['value'] ?? null;
}

/** Run `body` as a promise: synchronous throws (input checks) become rejections. */
function settle(name: string, request: RunRequest, body: () => Json | Promise<Json>): Promise<Json> {
  try {
    if (request.signal.aborted) throw abortedError(name);
    return Promise.resolve(body());
  } catch (err) {
    return Promise.reject(err);
  }
}

export function createSleepRunner(): Runner {
  const name = 'demo.sleep';
  return {
    name,
    capabilities: caps('Waits `ms` milliseconds, then returns `{ sleptMs, value }`.'),
    health: healthy,
    execute: (request) => settle(name, request, () => {
      const ms = request.input['ms'];
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_SLEEP_MS) invalid(name, `"ms" must be a number from 0 to ${MAX_SLEEP_MS}`);
      const value = valueOf(request);
      const signal = request.signal;
      return new Promise<Json>((resolve, reject) => {
        const onAbort = (): void => {
          clearTimeout(timer);
          reject(abortedError(name));
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve({ sleptMs: ms, value });
        }, ms);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }),
  };
}

export function createFlakyRunner(): Runner {
  const name = 'demo.flaky';
  return {
    name,
    capabilities: caps('Fails (retryable) while the try number is at most `failTimes`, then succeeds.'),
    health: healthy,
    execute: (request) => settle(name, request, () => {
      const failTimes = request.input['failTimes'];
      if (typeof failTimes !== 'number' || !Number.isSafeInteger(failTimes) || failTimes < 0) invalid(name, '"failTimes" must be an integer ≥ 0');
      if (request.tryNumber <= failTimes) {
        throw new RunnerError('flaky', `Injected failure on try ${request.tryNumber} of ${failTimes}`, true, { tryNumber: request.tryNumber, failTimes });
      }
      return { attempt: request.tryNumber, value: valueOf(request) };
    }),
  };
}

export function createFailRunner(): Runner {
  const name = 'demo.fail';
  return {
    name,
    capabilities: caps('Always fails with the given error `type`, `message` and `retryable`.'),
    health: healthy,
    execute: (request) => settle(name, request, () => {
      const { type = 'demo_failure', message = 'Demo failure', retryable = false } = request.input;
      if (typeof type !== 'string' || type === '') invalid(name, '"type" must be a non-empty string');
      if (typeof message !== 'string') invalid(name, '"message" must be a string');
      if (typeof retryable !== 'boolean') invalid(name, '"retryable" must be true or false');
      throw new RunnerError(type, message, retryable);
    }),
  };
}

export function createNoopRunner(): Runner {
  return {
    name: 'noop',
    capabilities: caps('Does nothing and returns null (benchmarks).'),
    health: healthy,
    execute: (request) => (request.signal.aborted ? Promise.reject(abortedError('noop')) : Promise.resolve(null)),
  };
}

export function demoRunners(): Runner[] {
  return [createSleepRunner(), createFlakyRunner(), createFailRunner(), createNoopRunner()];
}

/**
 * Shared helpers for the runner tests: build a RunRequest and expect a RunnerError.
 */
import assert from 'node:assert/strict';
import type { Json } from '../../../../worker/kernel/errors.ts';
import { RunnerError, type RunRequest } from '../../../../worker/engine/runners/index.ts';

export const NOW = Date.UTC(2030, 0, 2, 3, 4, 5); // a whole second: HTTP dates round-trip exactly

let seq = 0;

/** A RunRequest for `input`; every call gets a fresh idempotency key unless one is given. */
export function runRequest(input: { [key: string]: Json }, over: Partial<RunRequest> = {}): RunRequest {
  seq++;
  return {
    input,
    signal: new AbortController().signal,
    idempotencyKey: `session-${seq}/step/1`,
    sessionId: `session-${seq}`,
    stepKey: 'step',
    attempt: 1,
    tryNumber: 1,
    now: () => NOW,
    ...over,
  };
}

/** Await `p`, which must reject with a RunnerError of `type`; returns it. */
export async function rejectsWith(p: Promise<unknown>, type: string, retryable?: boolean): Promise<RunnerError> {
  let err: unknown;
  try {
    const value = await p;
    assert.fail(`expected a ${type} RunnerError, got ${JSON.stringify(value)}`);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof RunnerError)) throw err;
  assert.equal(err.type, type, `expected ${type}, got ${err.type}: ${err.message}`);
  if (retryable !== undefined) assert.equal(err.retryable, retryable, `retryable of ${type}`);
  return err;
}

/** A fetch that fails the test if it is ever called. */
export const forbiddenFetch: typeof fetch = () => Promise.reject(new Error('fetch must not be called'));

/** Resolves after ms (for aborting mid-flight). */
export const delay = (ms: number): Promise<void> => new Promise((ok) => setTimeout(ok, ms));

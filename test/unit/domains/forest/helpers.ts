/** Shared helpers for the Forest tests. */
import assert from 'node:assert/strict';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { catchError, FIXED_MS, memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

export async function withMem<T>(fn: (k: Kernel) => T | Promise<T>): Promise<T> {
  let ms = FIXED_MS;
  const k = await memKernel({ clock: () => (ms += 1) });
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

export function cmd(k: Kernel, type: string, payload: Record<string, unknown>, extra: { expectedVersion?: number } = {}) {
  return k.command({ type, payload, idempotencyKey: newKey(), ...extra });
}

export function createNode(k: Kernel, title: string, body = '', tags: string[] = [], extra: Record<string, unknown> = {}): string {
  return (cmd(k, 'forest.node.create', { title, body, tags, ...extra }).value as { nodeId: string }).nodeId;
}

export function link(k: Kernel, from: string, to: string, type = 'relates_to') {
  return cmd(k, 'forest.link.create', { from, to, type });
}

export function expectCode(fn: () => unknown, code: string): KernelError {
  const err = catchError(fn);
  assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

/**
 * Shared helpers for the kernel unit tests: temp directories, in-memory kernels, table hashes and
 * small workspace/project shortcuts.
 *
 * Invariants:
 * 1. Nothing here asserts on time; everything is deterministic given the kernel's own ids.
 * 2. `tableSha` hashes every row of a table in a total order, so two equal tables hash equal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openKernel, type OpenKingdomOptions } from '../../worker/node/index.ts';
import type { Kernel } from '../../worker/kernel/kernel.ts';
import { canonicalJson } from '../../worker/kernel/log/canonical.ts';
import { sha256Hex } from '../../worker/kernel/log/hash.ts';

export type { Kernel };

/** A fixed epoch-ms clock value used where a test wants a known `at`. */
export const FIXED_MS = Date.UTC(2025, 0, 2, 3, 4, 5, 678);

export function tempDir(prefix = 'kingdom-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Run `fn` with a fresh temp directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = tempDir(prefix);
  try {
    return await fn(dir);
  } finally {
    removeDir(dir);
  }
}

/** A fresh in-memory kernel with the default modules. */
export function memKernel(options: Omit<OpenKingdomOptions, 'storage'> = {}): Promise<Kernel> {
  return openKernel({ ...options, storage: 'memory' });
}

/** Open, run, always close. */
export async function withKernel<T>(fn: (k: Kernel) => Promise<T> | T, options: OpenKingdomOptions = {}): Promise<T> {
  const k = await openKernel(options);
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

export function newKey(prefix = 'k'): string {
  return `${prefix}-${randomUUID()}`;
}

/** SHA-256 over every row of `table` (all columns, ordered by every column). */
export function tableSha(k: Kernel, table: string): string {
  const cols = k.sql.all(`PRAGMA table_info("${table}")`).map((r) => String(r['name']));
  if (cols.length === 0) return `missing:${table}`;
  const order = cols.map((_, i) => String(i + 1)).join(', ');
  let acc = '';
  for (const r of k.sql.all(`SELECT * FROM "${table}" ORDER BY ${order}`)) {
    acc += canonicalJson(cols.map((c) => normalise(r[c]))) + '\n';
  }
  return sha256Hex(acc);
}

function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return Array.from(v);
  return v ?? null;
}

/** Hashes of the kernel's own tables and of every projection (via `kernel.digest()`). */
export function stateDigest(k: Kernel): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of ['events', 'idempotency', 'audit', 'checkpoints', 'projections']) out[`table:${t}`] = tableSha(k, t);
  for (const [name, d] of Object.entries(k.digest())) out[`projection:${name}`] = d;
  return out;
}

export function eventCount(k: Kernel): number {
  return Number(k.sql.value('SELECT COUNT(*) FROM events') ?? 0);
}

/** All stored events' seqs in order. */
export function allSeqs(k: Kernel): number[] {
  return k.sql.all('SELECT seq FROM events ORDER BY seq').map((r) => Number(r['seq']));
}

export function createWorkspace(k: Kernel, name: string, extra: Record<string, unknown> = {}): string {
  const r = k.command({ type: 'workspace.create', payload: { name, ...extra }, idempotencyKey: newKey('ws') });
  return (r.value as { workspaceId: string }).workspaceId;
}

export function createProject(k: Kernel, workspaceId: string, name: string): string {
  const r = k.command({ type: 'project.create', payload: { workspaceId, name }, idempotencyKey: newKey('pr') });
  return (r.value as { projectId: string }).projectId;
}

/** Call `fn`, expecting a KernelError-like throw; returns it (fails the test when nothing throws). */
export function catchError(fn: () => unknown): { code: string; message: string; details: Record<string, unknown> } {
  try {
    fn();
  } catch (err) {
    return err as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected the call to throw, but it returned');
}

export async function catchErrorAsync(fn: () => Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await fn();
  } catch (err) {
    return err as { code: string; message: string; details: Record<string, unknown> };
  }
  throw new Error('expected the call to reject, but it resolved');
}

/** Let queued microtasks and one macrotask run (subscriptions deliver backlog in a microtask). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

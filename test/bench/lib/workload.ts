/**
 * The benchmark workload: a tiny kernel module whose one command appends one event and whose
 * projection writes one row (a fair "hash chain + projection" unit of work), and generators of
 * commands for it and for the workspace slice (`project.create`).
 *
 * Browser-safe: no node: imports.
 */
import '../../../worker/kernel/zod-setup.ts';
import { z } from 'zod';
import type { KernelModule } from '../../../worker/kernel/module.ts';
import type { CommandInput } from '../../../worker/kernel/commands/envelope.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';

export const BENCH_COMMAND = 'bench.item.add';
export const BENCH_EVENT = 'bench.item_added';

const itemAdd = z.strictObject({
  itemId: z.string().min(1).max(64),
  value: z.string().max(200),
});
type ItemAdd = z.infer<typeof itemAdd>;

/** One command -> one event (own stream) -> one projection row (`bench_items`). */
export const benchModule: KernelModule = {
  name: 'bench',
  commands: [
    {
      type: BENCH_COMMAND,
      description: 'Benchmark: add one item (one event, one projection row).',
      schema: itemAdd,
      mutates: true,
      target: (p: ItemAdd) => `item:${p.itemId}`,
      decide: (_s: unknown, p: ItemAdd) => ({
        events: [{ stream: `item:${p.itemId}`, type: BENCH_EVENT, payload: { itemId: p.itemId, value: p.value } }],
        value: { itemId: p.itemId },
      }),
    },
  ],
  events: [{ type: BENCH_EVENT, version: 1, description: 'Benchmark: an item was added.', schema: itemAdd }],
  projections: [
    {
      name: 'bench_items',
      version: 1,
      tables: ['bench_items'],
      eventTypes: [BENCH_EVENT],
      createSql: 'CREATE TABLE bench_items (id TEXT PRIMARY KEY, value TEXT NOT NULL, seq INTEGER NOT NULL) STRICT;',
      apply(e, w) {
        const p = e.payload as ItemAdd;
        w.run('INSERT INTO bench_items (id, value, seq) VALUES (?, ?, ?)', [p.itemId, p.value, e.seq]);
      },
    },
  ],
};

let runCounter = 0;

/** A distinct prefix per generator call, so ids/keys never collide across runs in one realm. */
function runTag(): string {
  runCounter++;
  return `${Date.now().toString(36)}${runCounter.toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** `n` bench commands with unique item ids and idempotency keys. */
export function benchCommands(n: number): CommandInput[] {
  const tag = runTag();
  const out: CommandInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      type: BENCH_COMMAND,
      payload: { itemId: `it-${tag}-${i}`, value: `value ${i} of run ${tag}: lorem ipsum dolor` },
      idempotencyKey: `bench-${tag}-${i}`,
    };
  }
  return out;
}

/** Create `count` workspaces through the kernel and return their ids. */
export function createWorkspaces(k: Kernel, count: number): string[] {
  const tag = runTag();
  const cmds: CommandInput[] = [];
  for (let i = 0; i < count; i++) {
    cmds.push({ type: 'workspace.create', payload: { name: `Workspace ${tag} ${i}` }, idempotencyKey: `ws-${tag}-${i}` });
  }
  return k.commandBatch(cmds).map((r) => String((r.value as { workspaceId: string }).workspaceId));
}

/** `n` project.create commands spread round-robin over `workspaceIds`. */
export function projectCommands(n: number, workspaceIds: readonly string[]): CommandInput[] {
  const tag = runTag();
  const out: CommandInput[] = new Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      type: 'project.create',
      payload: { workspaceId: workspaceIds[i % workspaceIds.length]!, name: `Project ${tag} ${i}`, description: 'benchmark project' },
      idempotencyKey: `pr-${tag}-${i}`,
    };
  }
  return out;
}

/**
 * Realtime subscriptions (worker/kernel/subscriptions.ts).
 *
 * Invariants checked:
 * 1. `fromSeq` delivers the backlog then live events, in seq order, without gaps or duplicates;
 *    resubscribing from lastSeen + 1 continues exactly where the previous subscription stopped.
 * 2. Filters by type and stream (exact and prefix) deliver exactly the matching events.
 * 3. A listener that throws (or rejects) is removed without affecting the others.
 * 4. The invariant holds under random interleavings of commands and (re)subscriptions.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventEnvelope } from '../../../worker/kernel/log/envelope.ts';
import { matches } from '../../../worker/kernel/subscriptions.ts';
import { allSeqs, createProject, createWorkspace, memKernel, newKey, settle, type Kernel } from '../../helpers/kernel.ts';
import { CommandDriver, opArb, type Op } from '../../helpers/command-model.ts';

async function withMem<T>(fn: (k: Kernel) => Promise<T>): Promise<T> {
  const k = await memKernel();
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const seqsOf = (events: readonly EventEnvelope[]) => events.map((e) => e.seq);

/** Silence the kernel's "subscriber failed" warning while `fn` runs. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const warn = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
  }
}

describe('subscriptions', () => {
  test('fromSeq 1 delivers every past event and then live ones, in order', () =>
    withMem(async (k) => {
      const w = createWorkspace(k, 'A');
      createProject(k, w, 'P');
      const seen: EventEnvelope[] = [];
      k.subscribe((b) => void seen.push(...b), { fromSeq: 1 });
      await settle();
      const pastHead = k.status().headSeq;
      assert.deepEqual(seqsOf(seen), range(1, pastHead));
      createWorkspace(k, 'B');
      createWorkspace(k, 'C');
      await settle();
      assert.deepEqual(seqsOf(seen), range(1, k.status().headSeq));
      assert.deepEqual(seen, k.readEvents(0, 10_000), 'delivered envelopes equal the stored ones');
    }));

  test('without fromSeq only events committed after subscribing are delivered', () =>
    withMem(async (k) => {
      createWorkspace(k, 'A');
      const head = k.status().headSeq;
      const seen: number[] = [];
      k.subscribe((b) => void seen.push(...seqsOf(b)));
      await settle();
      assert.deepEqual(seen, []);
      createWorkspace(k, 'B');
      assert.deepEqual(seen, [head + 1]);
    }));

  test('live events committed before the backlog is delivered are not duplicated', () =>
    withMem(async (k) => {
      createWorkspace(k, 'A');
      const seen: number[] = [];
      k.subscribe((b) => void seen.push(...seqsOf(b)), { fromSeq: 1 });
      // Commit before the queued backlog delivery runs.
      createWorkspace(k, 'B');
      createWorkspace(k, 'C');
      await settle();
      assert.deepEqual(seen, range(1, k.status().headSeq));
    }));

  test('unsubscribe, append, resubscribe from lastSeen + 1 gives exactly 1..N', () =>
    withMem(async (k) => {
      const seen: number[] = [];
      const listener = (b: EventEnvelope[]) => void seen.push(...seqsOf(b));
      let sub = k.subscribe(listener, { fromSeq: 1 });
      await settle();
      createWorkspace(k, 'A');
      sub.close();
      createWorkspace(k, 'B');
      createWorkspace(k, 'C');
      sub = k.subscribe(listener, { fromSeq: seen.at(-1)! + 1 });
      createWorkspace(k, 'D');
      await settle();
      sub.close();
      assert.deepEqual(seen, range(1, k.status().headSeq));
    }));

  test('the backlog is delivered in batches of at most batchSize, in order', () =>
    withMem(async (k) => {
      for (let i = 0; i < 7; i++) createWorkspace(k, `W${i}`);
      const batches: number[][] = [];
      k.subscribe((b) => void batches.push(seqsOf(b)), { fromSeq: 1, batchSize: 3 });
      await settle();
      assert.ok(batches.every((b) => b.length >= 1 && b.length <= 3), JSON.stringify(batches));
      assert.deepEqual(batches.flat(), range(1, k.status().headSeq));
    }));

  test('a fromSeq beyond the head delivers nothing before fromSeq', () =>
    withMem(async (k) => {
      createWorkspace(k, 'first'); // the first write also registers the device's key
      const head = k.status().headSeq;
      const seen: number[] = [];
      k.subscribe((b) => void seen.push(...seqsOf(b)), { fromSeq: head + 3 });
      for (let i = 0; i < 4; i++) createWorkspace(k, `W${i}`);
      await settle();
      assert.deepEqual(seen, range(head + 3, head + 4), '"fromSeq: first seq to deliver (inclusive)"');
    }));

  test('a type filter delivers exactly the events of those types', () =>
    withMem(async (k) => {
      const w = createWorkspace(k, 'A');
      const seen: EventEnvelope[] = [];
      k.subscribe((b) => void seen.push(...b), { fromSeq: 1, filter: { types: ['project.created', 'workspace.renamed'] } });
      createProject(k, w, 'P');
      k.command({ type: 'workspace.rename', payload: { workspaceId: w, name: 'B' }, idempotencyKey: newKey() });
      createWorkspace(k, 'C');
      await settle();
      assert.deepEqual(seen.map((e) => e.type), ['project.created', 'workspace.renamed']);
    }));

  test('a stream filter delivers exactly that stream, backlog and live', () =>
    withMem(async (k) => {
      const w = createWorkspace(k, 'A');
      createWorkspace(k, 'Other');
      const seen: EventEnvelope[] = [];
      k.subscribe((b) => void seen.push(...b), { fromSeq: 1, filter: { stream: `workspace:${w}` } });
      k.command({ type: 'workspace.rename', payload: { workspaceId: w, name: 'A2' }, idempotencyKey: newKey() });
      createWorkspace(k, 'Third');
      await settle();
      assert.deepEqual(seen.map((e) => e.type), ['workspace.created', 'workspace.renamed']);
      assert.ok(seen.every((e) => e.stream === `workspace:${w}`));
    }));

  test('prefix filters deliver exactly the matching events', () =>
    withMem(async (k) => {
      const w = createWorkspace(k, 'A');
      createProject(k, w, 'P');
      const byType: EventEnvelope[] = [];
      const byStream: EventEnvelope[] = [];
      k.subscribe((b) => void byType.push(...b), { fromSeq: 1, filter: { typePrefix: 'project.' } });
      k.subscribe((b) => void byStream.push(...b), { fromSeq: 1, filter: { streamPrefix: 'workspace:' } });
      createProject(k, w, 'Q');
      await settle();
      const all = k.readEvents(0, 1000);
      assert.deepEqual(seqsOf(byType), seqsOf(all.filter((e) => e.type.startsWith('project.'))));
      assert.deepEqual(seqsOf(byStream), seqsOf(all.filter((e) => e.stream.startsWith('workspace:'))));
      assert.equal(byType.length, 2);
    }));

  test('a listener that throws is removed and the others keep receiving', () =>
    quietly(() => withMem(async (k) => {
      createWorkspace(k, 'first'); // the first write also registers the device's key
      let calls = 0;
      const good: number[] = [];
      k.subscribe(() => {
        calls++;
        throw new Error('listener bug');
      });
      k.subscribe((b) => void good.push(...seqsOf(b)));
      const head = k.status().headSeq;
      createWorkspace(k, 'A');
      createWorkspace(k, 'B');
      await settle();
      assert.equal(calls, 1, 'the throwing listener was called once, then removed');
      assert.deepEqual(good, [head + 1, head + 2]);
      assert.equal(k.subscriptions.size, 1);
    })));

  test('a listener whose promise rejects is removed and the others keep receiving', () =>
    quietly(() => withMem(async (k) => {
      createWorkspace(k, 'first'); // the first write also registers the device's key
      let calls = 0;
      const good: number[] = [];
      k.subscribe(async () => {
        calls++;
        throw new Error('async listener bug');
      });
      k.subscribe((b) => void good.push(...seqsOf(b)));
      createWorkspace(k, 'A');
      await settle();
      createWorkspace(k, 'B');
      await settle();
      assert.equal(calls, 1);
      assert.equal(good.length, 2);
    })));

  test('a listener that issues a command while receiving still sees every event once, in order', () =>
    withMem(async (k) => {
      const reentrant: number[] = [];
      const other: number[] = [];
      let fired = false;
      k.subscribe((b) => {
        reentrant.push(...seqsOf(b));
        if (!fired) {
          fired = true;
          createWorkspace(k, 'FromListener');
        }
      }, { fromSeq: 1 });
      k.subscribe((b) => void other.push(...seqsOf(b)), { fromSeq: 1 });
      await settle();
      createWorkspace(k, 'After');
      await settle();
      const all = range(1, k.status().headSeq);
      assert.deepEqual(reentrant, all);
      assert.deepEqual(other, all);
    }));

  test('closing the kernel ends every subscription', async () => {
    const k = await memKernel();
    k.subscribe(() => {}, { fromSeq: 1 });
    k.subscribe(() => {});
    await k.close();
    assert.equal(k.subscriptions.size, 0);
  });
});

type Action =
  | { readonly kind: 'op'; readonly op: Op }
  | { readonly kind: 'unsubscribe' }
  | { readonly kind: 'resubscribe'; readonly batchSize: number }
  | { readonly kind: 'settle' };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: opArb.map((op) => ({ kind: 'op' as const, op })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unsubscribe' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((batchSize) => ({ kind: 'resubscribe' as const, batchSize })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'settle' as const }) },
);

describe('subscriptions under random interleavings', () => {
  test('commands interleaved with subscribe/unsubscribe/resubscribe deliver exactly 1..N (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 20, maxLength: 120 }), async (actions) => {
        const k = await memKernel();
        try {
          const driver = new CommandDriver(k);
          // Client A: resubscribes from lastSeen + 1; its concatenated seqs must be 1..N.
          const seen: number[] = [];
          const listener = (b: EventEnvelope[]) => void seen.push(...seqsOf(b));
          let sub: { close(): void } | null = k.subscribe(listener, { fromSeq: 1 });
          // Client B: one filtered subscription for the whole run.
          const filter = { typePrefix: 'project.' };
          const filtered: EventEnvelope[] = [];
          k.subscribe((b) => void filtered.push(...b), { fromSeq: 1, filter, batchSize: 2 });
          for (const a of actions) {
            if (a.kind === 'op') driver.run(a.op);
            else if (a.kind === 'unsubscribe') {
              sub?.close();
              sub = null;
            } else if (a.kind === 'resubscribe') {
              sub?.close();
              sub = k.subscribe(listener, { fromSeq: (seen.at(-1) ?? 0) + 1, batchSize: a.batchSize });
            } else await settle();
          }
          sub?.close();
          sub = k.subscribe(listener, { fromSeq: (seen.at(-1) ?? 0) + 1 });
          await settle();
          assert.deepEqual(seen, allSeqs(k), 'client A saw every seq exactly once, in order');
          const expected = k.readEvents(0, 10_000).filter((e) => matches(e, filter));
          assert.deepEqual(seqsOf(filtered), seqsOf(expected), 'client B saw exactly the matching events');
        } finally {
          await k.close();
        }
      }),
      { numRuns: 40 },
    );
  });
});

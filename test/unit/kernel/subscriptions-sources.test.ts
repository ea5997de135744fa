/**
 * The one subscription mechanism (worker/kernel/subscriptions.ts) over page sources other than
 * the kernel's store: an asynchronous, slow, sometimes stale or silent source (a follower tab
 * paging from the leader), broadcasts arriving while pages are in flight, and a re-target to a
 * synchronous source in the middle (the follower becomes the leader).
 *
 * Invariant checked: every subscriber sees each matching seq exactly once, in order, whatever the
 * interleaving of publishes, page answers (late, repeated, stale, missing) and re-targets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { EventEnvelope } from '../../../worker/kernel/log/envelope.ts';
import type { EventFilter } from '../../../worker/kernel/log/event-store.ts';
import { matches, Subscriptions, type Page, type PageSource } from '../../../worker/kernel/subscriptions.ts';

const ev = (seq: number): EventEnvelope =>
  ({ id: `e${seq}`, seq, stream: `s:${seq % 3}`, streamSeq: 1, type: seq % 2 ? 'odd.happened' : 'even.happened', v: 1, at: '', actor: 'u', device: 'd', payload: null, prev: '', hash: '' }) as unknown as EventEnvelope;

/** The leader's log. */
class Log {
  readonly events: EventEnvelope[] = [];
  append(n: number): EventEnvelope[] {
    const out = Array.from({ length: n }, (_, i) => ev(this.events.length + i + 1));
    this.events.push(...out);
    return out;
  }
  get head(): number {
    return this.events.length;
  }
  page(afterSeq: number, limit: number, filter: EventFilter): Page {
    const events = this.events.filter((e) => e.seq > afterSeq && matches(e, filter)).slice(0, limit);
    return { events, scannedTo: events.length < limit ? this.head : events[events.length - 1]!.seq, headSeq: this.head };
  }
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await tick();
}

interface Behaviour {
  /** Per request: 0 answer, 1 answer late, 2 answer with a stale (older) page, 3 no answer (null). */
  readonly answers: readonly number[];
}

/** A follower's source: async pages, some late, some stale, some missing; knows the head from what it heard. */
function followerSource(log: Log, b: Behaviour, known: { head: number }): PageSource {
  let n = 0;
  return {
    head: () => known.head,
    page: async (afterSeq, limit, filter) => {
      const kind = b.answers[n++ % b.answers.length]!;
      await tick();
      if (kind === 1) await tick();
      if (kind === 3) return null;
      const page = log.page(kind === 2 ? Math.max(0, afterSeq - 2) : afterSeq, limit, filter);
      known.head = Math.max(known.head, page.headSeq);
      return page;
    },
  };
}

test('over a slow, stale and silent source, with broadcasts and a re-target, each event arrives exactly once, in order', async () => {
  await fc.assert(fc.asyncProperty(
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 8 }),
    fc.array(fc.record({ n: fc.integer({ min: 0, max: 7 }), broadcast: fc.boolean(), resume: fc.boolean() }), { minLength: 1, maxLength: 12 }),
    fc.integer({ min: 0, max: 12 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 0, max: 10 }),
    async (answers, steps, retargetAt, batch, backlog) => {
      const log = new Log();
      log.append(backlog);
      const known = { head: log.head };
      const subs = new Subscriptions(followerSource(log, { answers }, known));
      const all: number[] = [];
      const odd: number[] = [];
      subs.subscribe((es) => void all.push(...es.map((e) => e.seq)), { fromSeq: 1, batchSize: batch });
      subs.subscribe((es) => void odd.push(...es.map((e) => e.seq)), { fromSeq: 1, batchSize: batch, filter: { types: ['odd.happened'] } });
      let leader = false;
      for (let i = 0; i < steps.length; i++) {
        if (i === retargetAt && !leader) {
          leader = true;
          subs.retarget({ head: () => log.head, page: (a, l, f) => log.page(a, l, f) });
        }
        const s = steps[i]!;
        const fresh = log.append(s.n);
        if (!leader) known.head = Math.max(known.head, log.head);
        if (s.broadcast || leader) subs.publish(fresh);
        if (s.resume && !leader) subs.resume();
        await tick();
      }
      // Finally the (new) leader's store answers everything.
      if (!leader) subs.retarget({ head: () => log.head, page: (a, l, f) => log.page(a, l, f) });
      await settle();
      const expected = log.events.map((e) => e.seq);
      assert.deepEqual(all, expected);
      assert.deepEqual(odd, expected.filter((s) => s % 2 === 1));
    },
  ), { numRuns: 150 });
});

test('a late answer of the previous source after a re-target is ignored', async () => {
  const log = new Log();
  log.append(5);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const slow: PageSource = { head: () => log.head, page: async (a, l, f) => { await gate; return log.page(a, l, f); } };
  const subs = new Subscriptions(slow);
  const got: number[] = [];
  subs.subscribe((es) => void got.push(...es.map((e) => e.seq)), { fromSeq: 1 });
  await tick(); // the slow page request is in flight
  subs.retarget({ head: () => log.head, page: (a, l, f) => log.page(a, l, f) });
  await settle();
  release();
  await settle();
  assert.deepEqual(got, [1, 2, 3, 4, 5]);
});

test('a source that cannot answer stops the pump until resume', async () => {
  const log = new Log();
  log.append(3);
  let up = false;
  const subs = new Subscriptions({ head: () => log.head, page: async (a, l, f) => (up ? log.page(a, l, f) : null) });
  const got: number[] = [];
  subs.subscribe((es) => void got.push(...es.map((e) => e.seq)), { fromSeq: 1 });
  await settle();
  assert.deepEqual(got, []);
  up = true;
  subs.resume();
  await settle();
  assert.deepEqual(got, [1, 2, 3]);
});

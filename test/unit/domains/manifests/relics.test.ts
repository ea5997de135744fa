/**
 * Relic health and Monument bring-up (docs/manifests.md, "Relics and Monuments") through the Node
 * API: the relic service probes a real HTTP server on 127.0.0.1 on a ManualClock — at once, then
 * every `health.every`, bounded by `health.timeout` — and records only changes of health; a
 * Monument comes up in startOrder, waits (bounded) for a Relic that must be healthy, and records
 * each step and the outcome once.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { openKingdom, ManualClock, type KingdomApi } from '../../../../worker/node/index.ts';
import { listenOnLoopback } from '../../../helpers/listen.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../../fixtures/manifests/${name}`, import.meta.url), 'utf8');

/** A Relic on 127.0.0.1: `/healthz` answers 200 or 503 (or hangs), counting requests. */
const relic = { mode: 'healthy' as 'healthy' | 'unhealthy' | 'hang', hits: 0, hung: [] as ServerResponse[] };
const sockets = new Set<Socket>();
const server = createServer((req, res) => {
  if (req.url !== '/healthz') return void res.writeHead(404).end();
  relic.hits++;
  if (relic.mode === 'hang') return void relic.hung.push(res);
  res.writeHead(relic.mode === 'healthy' ? 200 : 503, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' }).end(relic.mode);
});
server.on('connection', (s) => {
  sockets.add(s);
  s.on('close', () => sockets.delete(s));
});
const { url } = await listenOnLoopback(server);
after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

const relicSource = fixture('relic-git.yaml').replace(/http:\/\/127\.0\.0\.1:8788/g, url);

async function open(clock: ManualClock, waitMs?: number): Promise<KingdomApi> {
  return openKingdom({ clock: clock.now, engine: { clock }, ...(waitMs ? { relics: { waitMs, retryMs: 1_000 } } : {}) });
}

let n = 0;
async function apply(k: KingdomApi, source: string): Promise<void> {
  const r = await k.command({ type: 'manifest.apply', payload: { source, origin: { via: 'api' } }, idempotencyKey: `a-${++n}` });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
}

type Health = { name: string; status: string; since: string | null; error: string | null; lastChecked: string | null; nextCheck: string | null };
async function health(k: KingdomApi): Promise<Health[]> {
  const r = await k.query('relic.health', {});
  assert.ok(r.ok);
  return r.value as Health[];
}

async function healthEvents(k: KingdomApi): Promise<number> {
  const r = await k.query('events.list', { types: ['relic.health_changed'] });
  assert.ok(r.ok);
  return r.value.total;
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('a Relic is probed at once, then every health.every; only changes of health are events', async () => {
  relic.mode = 'healthy';
  relic.hits = 0;
  const clock = new ManualClock();
  const k = await open(clock);
  try {
    assert.deepEqual((await health(k)), [], 'no Relic, nothing to show');
    await apply(k, relicSource);
    const first = await until('the first probe', async () => (await health(k)).find((h) => h.lastChecked !== null));
    assert.equal(first.status, 'healthy');
    assert.equal(relic.hits, 1, 'probed once, at once, with no time passing');
    assert.equal(first.nextCheck, new Date(clock.now() + 30_000).toISOString(), 'the next probe is due health.every later');
    assert.equal(await healthEvents(k), 1, 'unknown → healthy is one event');

    clock.advance(30_000);
    await until('the second probe', async () => relic.hits === 2 && (await health(k))[0]!.lastChecked === new Date(clock.now()).toISOString());
    assert.equal(await healthEvents(k), 1, 'healthy again: no event');

    relic.mode = 'unhealthy';
    clock.advance(30_000);
    const down = await until('unhealthy', async () => (await health(k)).find((h) => h.status === 'unhealthy'));
    assert.match(down.error ?? '', /answered 503; a healthy git-server answers 200/);
    assert.equal(await healthEvents(k), 2);
    clock.advance(30_000);
    await until('the fourth probe', async () => relic.hits === 4 && (await health(k))[0]!.lastChecked === new Date(clock.now()).toISOString());
    assert.equal(await healthEvents(k), 2, 'unhealthy again: no event');

    relic.mode = 'hang';
    clock.advance(30_000);
    await until('the hanging probe', async () => relic.hits === 5);
    clock.advance(2_000);
    const timedOut = await until('the timeout', async () => (await health(k)).find((h) => /did not answer within 2 s/.test(h.error ?? '')));
    assert.equal(timedOut.status, 'unhealthy');
    assert.equal(await healthEvents(k), 2, 'still unhealthy (another reason): no event');
    for (const res of relic.hung.splice(0)) res.destroy();

    relic.mode = 'healthy';
    clock.advance(28_000);
    await until('healthy again', async () => (await health(k)).find((h) => h.status === 'healthy'));
    assert.equal(await healthEvents(k), 3);

    const rm = await k.command({ type: 'manifest.remove', payload: { kind: 'Relic', name: 'git-server', version: '1.0.0' }, idempotencyKey: 'rm' });
    assert.ok(rm.ok);
    const hits = relic.hits;
    clock.advance(120_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(relic.hits, hits, 'a removed Relic is no longer probed');
    assert.deepEqual(await health(k), []);
  } finally {
    await k.close();
  }
});

type BringUp = { overall: string; steps: { component: string; state: string; detail: string }[] } | null;
async function bringUp(k: KingdomApi): Promise<BringUp> {
  const r = await k.query('monument.bring_up.get', { name: 'code-forge' });
  assert.ok(r.ok);
  return r.value as BringUp;
}

test('a Monument comes up in startOrder; a healthy condition waits (bounded) for its Relic; the outcome is one event', async () => {
  relic.mode = 'unhealthy';
  relic.hits = 0;
  const clock = new ManualClock();
  const k = await open(clock, 10_000);
  try {
    await apply(k, relicSource);
    await apply(k, fixture('tool-notify.yaml'));
    await apply(k, fixture('agent-reviewer.yaml'));
    await apply(k, fixture('monument-forge.yaml'));
    const refused = await k.command({ type: 'monument.bring_up', payload: { name: 'no-such' }, idempotencyKey: 'b-0' });
    assert.ok(!refused.ok && refused.error.code === 'not_found');

    const asked = await k.command({ type: 'monument.bring_up', payload: { name: 'code-forge' }, idempotencyKey: 'b-1' });
    assert.ok(asked.ok);
    const waiting = await until('git-server waiting', async () => {
      const b = await bringUp(k);
      return b?.overall === 'running' && b.steps[0]?.state === 'waiting' ? b : undefined;
    });
    assert.deepEqual(waiting.steps.map((s) => s.component), ['git-server', 'code-reviewer', 'deploy-service']);
    assert.deepEqual(waiting.steps.slice(1).map((s) => s.state), ['pending', 'pending'], 'the next group waits for the first');

    relic.mode = 'healthy';
    clock.advance(1_000);
    const failed = await until('the outcome', async () => {
      const b = await bringUp(k);
      return b && b.overall !== 'running' ? b : undefined;
    });
    assert.equal(failed.overall, 'failed', 'the kata is not installed');
    assert.deepEqual(failed.steps.map((s) => s.state), ['up', 'up', 'failed']);
    assert.match(failed.steps[0]!.detail, /^healthy: answered 200/);
    assert.match(failed.steps[2]!.detail, /No Kata\/deploy-service in >=1\.0\.0 <2\.0\.0 is installed/);
    const finished = await k.query('events.list', { types: ['monument.bring_up_finished'] });
    assert.ok(finished.ok && finished.value.total === 1, 'the outcome is recorded once');

    // Relic down for good: the bounded wait gives up and the rest is skipped.
    relic.mode = 'unhealthy';
    const again = await k.command({ type: 'monument.bring_up', payload: { name: 'code-forge' }, idempotencyKey: 'b-2' });
    assert.ok(again.ok);
    await until('waiting again', async () => (await bringUp(k))?.steps[0]?.state === 'waiting');
    for (let i = 0; i < 12; i++) {
      clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 15));
    }
    const gaveUp = await until('given up', async () => {
      const b = await bringUp(k);
      return b && b.overall === 'failed' && b.steps[0]?.state === 'failed' ? b : undefined;
    });
    assert.match(gaveUp.steps[0]!.detail, /was not healthy within 10 s: .*answered 503/);
    assert.deepEqual(gaveUp.steps.slice(1).map((s) => s.state), ['skipped', 'skipped']);
  } finally {
    await k.close();
  }
});

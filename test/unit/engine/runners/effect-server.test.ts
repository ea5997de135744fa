/**
 * The effect server test helper (test/helpers/effect-server.ts), with plain fetch.
 *
 * Invariants checked:
 * 1. Effects are deduplicated by Idempotency-Key; counts() counts distinct effects, requests()
 *    every request; reset() forgets everything.
 * 2. The fail, status, echo, retry-after and raw paths answer as documented.
 * 3. A client that aborts a slow request causes no errors; close() ends open connections.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startEffectServer, type EffectServer } from '../../../helpers/effect-server.ts';
import { delay } from './helpers.ts';

let server: EffectServer;
before(async () => {
  server = await startEffectServer();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

const effect = async (name: string, key?: string, method = 'POST'): Promise<unknown> => {
  const res = await fetch(`${server.url}/effect/${name}`, { method, headers: key === undefined ? {} : { 'Idempotency-Key': key } });
  assert.equal(res.status, 200);
  return res.json();
};

describe('effect server', () => {
  test('an effect counts once per Idempotency-Key; repeats answer the first response', async () => {
    assert.deepEqual(await effect('mail', 'k1'), { name: 'mail', key: 'k1', count: 1 });
    assert.deepEqual(await effect('mail', 'k1', 'GET'), { name: 'mail', key: 'k1', count: 1 });
    assert.deepEqual(await effect('mail', 'k2'), { name: 'mail', key: 'k2', count: 2 });
    assert.deepEqual(await effect('sms', 'k1'), { name: 'sms', key: 'k1', count: 1 });
    assert.deepEqual(await effect('mail', undefined), { name: 'mail', key: null, count: 3 });
    assert.deepEqual(await effect('mail', undefined), { name: 'mail', key: null, count: 4 });
    assert.deepEqual([...server.counts()].sort(), [['mail', 4], ['sms', 1]]);
    assert.equal(server.requests('mail'), 5);
    assert.equal(server.requests('sms'), 1);
    assert.equal(server.requests('/effect/mail'), 5);
    assert.equal(server.requests(), 6);
    assert.equal((await fetch(`${server.url}/effect/mail`, { method: 'DELETE' })).status, 405);
  });

  test('reset forgets counts, stored responses and request totals', async () => {
    await effect('a', 'k');
    server.reset();
    assert.equal(server.counts().size, 0);
    assert.equal(server.requests(), 0);
    assert.deepEqual(await effect('a', 'k'), { name: 'a', key: 'k', count: 1 });
  });

  test('counts() is a copy', async () => {
    await effect('a', 'k');
    server.counts().set('a', 99);
    assert.equal(server.counts().get('a'), 1);
  });

  test('/fail/<n>/<name> answers 503 n times per path, then 200', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${server.url}/fail/2/x`)).status);
    assert.deepEqual(statuses, [503, 503, 200, 200]);
    assert.deepEqual(await (await fetch(`${server.url}/fail/2/x`)).json(), { ok: true, after: 2 });
    assert.equal((await fetch(`${server.url}/fail/1/y`)).status, 503);
  });

  test('/status, /retry-after, /raw and unknown paths', async () => {
    const s = await fetch(`${server.url}/status/418`);
    assert.equal(s.status, 418);
    assert.deepEqual(await s.json(), { status: 418 });
    assert.equal((await fetch(`${server.url}/status/99`)).status, 400);
    const r = await fetch(`${server.url}/retry-after/12`);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '12');
    await r.body?.cancel();
    const raw = await fetch(`${server.url}/raw?status=201&type=text/csv&body=ab&repeat=3`);
    assert.equal(raw.status, 201);
    assert.equal(raw.headers.get('content-type'), 'text/csv');
    assert.equal(await raw.text(), 'ababab');
    assert.equal((await fetch(`${server.url}/nowhere`)).status, 404);
  });

  test('/echo returns method, path, headers and the parsed body', async () => {
    const res = await fetch(`${server.url}/echo?q=1`, { method: 'PUT', headers: { 'x-test': 'yes', 'content-type': 'application/json' }, body: '{"a":[1]}' });
    const body = (await res.json()) as { method: string; path: string; headers: Record<string, string>; body: unknown };
    assert.equal(body.method, 'PUT');
    assert.equal(body.path, '/echo?q=1');
    assert.equal(body.headers['x-test'], 'yes');
    assert.deepEqual(body.body, { a: [1] });
    const text = (await (await fetch(`${server.url}/echo`, { method: 'POST', body: 'not json' })).json()) as { body: unknown };
    assert.equal(text.body, 'not json');
  });

  test('a request body over 1 MiB is refused with 413', async () => {
    const res = await fetch(`${server.url}/echo`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) }).catch(() => undefined);
    // Either the 413 arrives or the server cut the upload short: never a 200.
    assert.notEqual(res?.status, 200);
  });

  test('/slow answers after ms; a client abort stops it without errors', async () => {
    const started = Date.now();
    const res = await fetch(`${server.url}/slow/20`);
    assert.deepEqual(await res.json(), { sleptMs: 20 });
    assert.ok(Date.now() - started >= 19);
    const ac = new AbortController();
    const pending = fetch(`${server.url}/slow/5000`, { signal: ac.signal });
    await delay(10);
    ac.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    assert.equal((await fetch(`${server.url}/status/200`)).status, 200, 'still serving');
  });

  test('close() ends open connections and pending slow requests', async () => {
    const other = await startEffectServer();
    const pending = fetch(`${other.url}/slow/5000`).then(() => 'answered', () => 'failed');
    await delay(10);
    const started = Date.now();
    await other.close();
    assert.equal(await pending, 'failed');
    assert.ok(Date.now() - started < 1000);
  });
});

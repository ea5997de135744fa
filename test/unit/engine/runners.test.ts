/**
 * The http runner (worker/engine/runners/http.ts) against a real HTTP server.
 *
 * Invariants checked:
 * 1. Output carries status, statusText, lower-case headers and a JSON or text body; long bodies
 *    are cut at maxBodyBytes with bodyTruncated.
 * 2. Idempotency-Key is always sent (the input may override it); a repeat does not repeat the effect.
 * 3. Method defaults, JSON vs string bodies, expectStatus.
 * 4. Every error type: invalid_input (fetch never called), network, timeout, aborted (promptly,
 *    even when fetch ignores its signal), http_429 with retryAfterMs, http_5xx, http_4xx.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpRunner, parseRetryAfter, type Runner } from '../../../worker/engine/runners/index.ts';
import type { Json } from '../../../worker/kernel/errors.ts';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';
import { NOW, delay, forbiddenFetch, rejectsWith, runRequest } from './runners/helpers.ts';

let server: EffectServer;
const http: Runner = createHttpRunner();

before(async () => {
  server = await startEffectServer();
});
after(async () => {
  await server.close();
});
beforeEach(() => server.reset());

type Obj = { [key: string]: Json };
const obj = (v: Json): Obj => {
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), `expected an object, got ${JSON.stringify(v)}`);
  return v;
};
const run = async (input: Obj, runner: Runner = http): Promise<Obj> => obj(await runner.execute(runRequest(input)));
const echo = async (input: Obj): Promise<Obj> => obj((await run({ url: `${server.url}/echo`, ...input }))['body'] ?? null);

describe('http runner: output', () => {
  test('a JSON response gives status, statusText, lower-case headers and the parsed body', async () => {
    const req = runRequest({ url: `${server.url}/effect/deploy` });
    const out = obj(await http.execute(req));
    assert.equal(out['status'], 200);
    assert.equal(out['statusText'], 'OK');
    const headers = obj(out['headers'] ?? null);
    assert.equal(headers['content-type'], 'application/json');
    assert.ok(Object.keys(headers).every((k) => k === k.toLowerCase()));
    assert.deepEqual(out['body'], { name: 'deploy', key: req.idempotencyKey, count: 1 });
    assert.equal('bodyTruncated' in out, false);
  });

  test('text bodies stay text; unparsable JSON falls back to text; +json types parse', async () => {
    assert.equal((await run({ url: `${server.url}/raw?body=hello%20world` }))['body'], 'hello world');
    assert.equal((await run({ url: `${server.url}/raw?type=application/json&body=%7Bbroken` }))['body'], '{broken');
    assert.deepEqual((await run({ url: `${server.url}/raw?type=application/problem%2Bjson;%20charset=utf-8&body=%7B%22a%22:1%7D` }))['body'], { a: 1 });
    assert.equal((await run({ url: `${server.url}/raw?type=application/json&body=` }))['body'], '');
  });

  test('a body longer than maxBodyBytes is cut and flagged; exactly the limit is not', async () => {
    const small = createHttpRunner({ maxBodyBytes: 10 });
    const cut = await run({ url: `${server.url}/raw?body=x&repeat=100000` }, small);
    assert.equal(cut['body'], 'x'.repeat(10));
    assert.equal(cut['bodyTruncated'], true);
    const exact = await run({ url: `${server.url}/raw?body=x&repeat=10` }, small);
    assert.equal(exact['body'], 'x'.repeat(10));
    assert.equal('bodyTruncated' in exact, false);
    const json = await run({ url: `${server.url}/raw?type=application/json&body=%5B1,2,3,4,5,6,7,8%5D` }, small);
    assert.equal(json['body'], '[1,2,3,4,5');
    assert.equal(json['bodyTruncated'], true);
    assert.throws(() => createHttpRunner({ maxBodyBytes: -1 }), RangeError);
  });

  test('the default limit is 1 MiB', async () => {
    const out = await run({ url: `${server.url}/raw?body=abcd&repeat=${(1024 * 1024) / 4 + 1}` });
    assert.equal(typeof out['body'] === 'string' ? out['body'].length : -1, 1024 * 1024);
    assert.equal(out['bodyTruncated'], true);
  });

  test('HEAD gives an empty body; 204 gives an empty body', async () => {
    const head = await run({ url: `${server.url}/status/200`, method: 'HEAD' });
    assert.equal(head['status'], 200);
    assert.equal(head['body'], '');
    const none = await run({ url: `${server.url}/status/204` });
    assert.equal(none['status'], 204);
    assert.equal(none['body'], '');
  });
});

describe('http runner: request', () => {
  test('sends Idempotency-Key; a repeat with the same key does not repeat the effect', async () => {
    const req = runRequest({ url: `${server.url}/effect/charge`, method: 'POST' });
    const first = obj(await http.execute(req));
    const again = obj(await http.execute(req));
    assert.deepEqual(again['body'], first['body']);
    assert.equal(server.counts().get('charge'), 1);
    assert.equal(server.requests('charge'), 2);
    await http.execute(runRequest({ url: `${server.url}/effect/charge`, method: 'POST' }));
    assert.equal(server.counts().get('charge'), 2);
  });

  test('the input may set its own Idempotency-Key (any case)', async () => {
    const seen = await echo({ headers: { 'IDEMPOTENCY-KEY': 'mine' } });
    assert.equal(obj(seen['headers'] ?? null)['idempotency-key'], 'mine');
    const dflt = runRequest({ url: `${server.url}/echo` });
    const body = obj(obj(await http.execute(dflt))['body'] ?? null);
    assert.equal(obj(body['headers'] ?? null)['idempotency-key'], dflt.idempotencyKey);
  });

  test('method defaults to GET, or POST with a body; case-insensitive', async () => {
    assert.equal((await echo({}))['method'], 'GET');
    assert.equal((await echo({ body: 'x' }))['method'], 'POST');
    assert.equal((await echo({ method: 'put', body: 'x' }))['method'], 'PUT');
    assert.equal((await echo({ method: 'PATCH', body: { a: 1 } }))['method'], 'PATCH');
    assert.equal((await echo({ method: 'Delete' }))['method'], 'DELETE');
    assert.equal((await echo({ body: null }))['method'], 'GET');
  });

  test('a string body is sent as it is; other JSON as JSON with content-type unless set', async () => {
    const text = await echo({ body: 'plain {text}' });
    assert.equal(text['body'], 'plain {text}');
    assert.match(String(obj(text['headers'] ?? null)['content-type']), /^text\/plain/);
    const json = await echo({ body: { list: [1, 'a', null], ok: true } });
    assert.deepEqual(json['body'], { list: [1, 'a', null], ok: true });
    assert.equal(obj(json['headers'] ?? null)['content-type'], 'application/json');
    const arr = await echo({ body: [1, 2], headers: { 'Content-Type': 'application/vnd.x+json', 'x-n': 3, 'x-b': true } });
    const h = obj(arr['headers'] ?? null);
    assert.equal(h['content-type'], 'application/vnd.x+json');
    assert.equal(h['x-n'], '3');
    assert.equal(h['x-b'], 'true');
    assert.deepEqual(arr['body'], [1, 2]);
    assert.equal((await echo({ body: 0 }))['body'], 0);
  });

  test('expectStatus accepts other codes and refuses unlisted ones', async () => {
    const out = await run({ url: `${server.url}/status/404`, expectStatus: [404, 410] });
    assert.equal(out['status'], 404);
    assert.deepEqual(out['body'], { status: 404 });
    assert.equal((await run({ url: `${server.url}/status/409`, expectStatus: 409 }))['status'], 409);
    const e = await rejectsWith(http.execute(runRequest({ url: `${server.url}/status/200`, expectStatus: [201] })), 'http_4xx', false);
    assert.equal(e.details['status'], 200);
    assert.match(e.message, /expected 201/);
  });

  test('the fail path answers 503 n times, then 200', async () => {
    const url = `${server.url}/fail/2/job`;
    await rejectsWith(http.execute(runRequest({ url })), 'http_5xx', true);
    await rejectsWith(http.execute(runRequest({ url })), 'http_5xx', true);
    assert.deepEqual((await run({ url }))['body'], { ok: true, after: 2 });
    assert.equal(server.requests('/fail/2/job'), 3);
  });
});

describe('http runner: errors', () => {
  const bad: [string, Obj][] = [
    ['missing url', {}],
    ['url not a string', { url: 3 }],
    ['not a URL', { url: 'not a url' }],
    ['ftp', { url: 'ftp://example.com/x' }],
    ['javascript', { url: 'javascript:alert(1)' }],
    ['credentials', { url: 'http://user:pw@127.0.0.1/' }],
    ['method', { url: 'http://127.0.0.1/', method: 'TRACE' }],
    ['method type', { url: 'http://127.0.0.1/', method: 1 }],
    ['GET with body', { url: 'http://127.0.0.1/', method: 'GET', body: 'x' }],
    ['HEAD with body', { url: 'http://127.0.0.1/', method: 'HEAD', body: { a: 1 } }],
    ['headers list', { url: 'http://127.0.0.1/', headers: ['a'] }],
    ['header object value', { url: 'http://127.0.0.1/', headers: { a: { b: 1 } } }],
    ['header bad value', { url: 'http://127.0.0.1/', headers: { a: 'x\ny' } }],
    ['header bad name', { url: 'http://127.0.0.1/', headers: { 'a b': 'x' } }],
    ['timeout negative', { url: 'http://127.0.0.1/', timeout: -1 }],
    ['timeout text', { url: 'http://127.0.0.1/', timeout: '10' }],
    ['expectStatus empty', { url: 'http://127.0.0.1/', expectStatus: [] }],
    ['expectStatus bad', { url: 'http://127.0.0.1/', expectStatus: [200, 'x'] }],
    ['expectStatus range', { url: 'http://127.0.0.1/', expectStatus: 99 }],
    ['unknown key', { url: 'http://127.0.0.1/', header: { a: 'b' } }],
  ];
  for (const [name, input] of bad) {
    test(`invalid_input: ${name} (fetch is never called)`, async () => {
      const e = await rejectsWith(createHttpRunner({ fetch: forbiddenFetch }).execute(runRequest(input)), 'invalid_input', false);
      assert.match(e.message, /^http: /);
    });
  }

  test('network: a port that was just closed (retryable, with the cause)', async () => {
    const gone = await startEffectServer();
    const url = `${gone.url}/effect/x?token=hidden`;
    await gone.close();
    const e = await rejectsWith(http.execute(runRequest({ url })), 'network', true);
    assert.equal(typeof e.details['cause'], 'string');
    assert.doesNotMatch(e.message, /hidden/, 'the query string stays out of the message');
  });

  test('timeout: its own timeout fires (retryable) and the server sees the disconnect', async () => {
    const started = Date.now();
    const e = await rejectsWith(http.execute(runRequest({ url: `${server.url}/slow/5000`, timeout: 30 })), 'timeout', true);
    assert.ok(Date.now() - started < 1000);
    assert.equal(e.details['timeoutMs'], 30);
  });

  test('aborted: rejects promptly when the signal aborts mid-request (not retryable)', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = http.execute(runRequest({ url: `${server.url}/slow/5000`, timeout: 10_000 }, { signal: ac.signal }));
    await delay(20);
    ac.abort();
    await rejectsWith(p, 'aborted', false);
    assert.ok(Date.now() - started < 1000);
  });

  test('aborted: an already aborted signal never calls fetch', async () => {
    await rejectsWith(createHttpRunner({ fetch: forbiddenFetch }).execute(runRequest({ url: 'http://127.0.0.1/' }, { signal: AbortSignal.abort() })), 'aborted', false);
  });

  test('abort and timeout settle promptly even when fetch ignores its signal', async () => {
    const hanging = createHttpRunner({ fetch: () => new Promise<Response>(() => {}) });
    const ac = new AbortController();
    const p = hanging.execute(runRequest({ url: 'http://127.0.0.1/' }, { signal: ac.signal }));
    setTimeout(() => ac.abort(), 10);
    await rejectsWith(p, 'aborted', false);
    await rejectsWith(hanging.execute(runRequest({ url: 'http://127.0.0.1/', timeout: 10 })), 'timeout', true);
  });

  test('a non-TypeError from fetch is runner_error; the fetch sees the method, headers and a signal', async () => {
    let seen: RequestInit | undefined;
    const odd = createHttpRunner({
      fetch: (_url, init) => {
        seen = init;
        return Promise.reject(new RangeError('odd'));
      },
    });
    await rejectsWith(odd.execute(runRequest({ url: 'http://127.0.0.1/x', method: 'post', body: { a: 1 } })), 'runner_error', false);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.body, '{"a":1}');
    assert.ok(seen?.signal instanceof AbortSignal);
  });

  test('http_429 is retryable with retryAfterMs from seconds or an HTTP date (relative to now)', async () => {
    const secs = await rejectsWith(http.execute(runRequest({ url: `${server.url}/retry-after/7` })), 'http_429', true);
    assert.equal(secs.details['retryAfterMs'], 7000);
    assert.equal(secs.details['status'], 429);
    const date = encodeURIComponent(new Date(NOW + 90_000).toUTCString());
    const byDate = await rejectsWith(http.execute(runRequest({ url: `${server.url}/retry-after/${date}` })), 'http_429', true);
    assert.equal(byDate.details['retryAfterMs'], 90_000);
    const junk = await rejectsWith(http.execute(runRequest({ url: `${server.url}/retry-after/soon` })), 'http_429', true);
    assert.equal('retryAfterMs' in junk.details, false);
  });

  test('parseRetryAfter: seconds, dates (never negative), junk', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(' 120 ', NOW), 120_000);
    assert.equal(parseRetryAfter(new Date(NOW + 5000).toUTCString(), NOW), 5000);
    assert.equal(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW), 0);
    for (const junk of ['', '-1', '1.5', 'soon', 'Mon, 99 Foo 2030', '12abc', '0x10']) assert.equal(parseRetryAfter(junk, NOW), undefined, junk);
  });

  test('http_5xx for 5xx and 408 (retryable); http_4xx otherwise (not retryable); details carry status and a body excerpt', async () => {
    for (const code of [500, 502, 503, 599, 408]) {
      const e = await rejectsWith(http.execute(runRequest({ url: `${server.url}/status/${code}` })), 'http_5xx', true);
      assert.equal(e.details['status'], code);
      assert.deepEqual(JSON.parse(String(e.details['bodyExcerpt'])), { status: code });
    }
    for (const code of [400, 401, 403, 404, 422]) {
      const e = await rejectsWith(http.execute(runRequest({ url: `${server.url}/status/${code}` })), 'http_4xx', false);
      assert.equal(e.details['status'], code);
      assert.equal(typeof e.details['statusText'], 'string');
    }
    const long = await rejectsWith(http.execute(runRequest({ url: `${server.url}/raw?status=500&body=y&repeat=2000` })), 'http_5xx', true);
    assert.equal(long.details['bodyExcerpt'], 'y'.repeat(500));
  });
});

describe('http runner: health and capabilities', () => {
  test('capabilities and health when fetch is available', async () => {
    assert.equal(http.name, 'http');
    assert.deepEqual({ ...http.capabilities, description: '' }, { pure: false, network: true, stepTypes: ['task', 'hook'], description: '' });
    assert.deepEqual(await http.health(), { ok: true, detail: 'fetch available' });
  });

  test('without a global fetch: health is not ok and execute is runner_unavailable', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
    Object.defineProperty(globalThis, 'fetch', { value: undefined, configurable: true, writable: true });
    try {
      const runner = createHttpRunner();
      assert.equal((await runner.health()).ok, false);
      await rejectsWith(runner.execute(runRequest({ url: 'http://127.0.0.1/' })), 'runner_unavailable', false);
    } finally {
      if (saved) Object.defineProperty(globalThis, 'fetch', saved);
    }
  });
});

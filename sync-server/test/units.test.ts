/**
 * The relay's pure parts, in process: the log format (every cut point of a torn tail), token
 * and room-id parsing, token buckets, message inspection and flag parsing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as Y from 'yjs';
import { parseTarget, parseToken, TOKEN_MAX_AHEAD_MS, verifyToken } from '../src/auth.ts';
import { ConfigError, DEFAULTS, parseConfig } from '../src/config.ts';
import { Limiter, TokenBucket } from '../src/limits.ts';
import { inspectMessage } from '../src/protocol.ts';
import { encodeRecord, MAGIC, scanLog } from '../src/room-log.ts';
import { chunkBytes, chunkUpdate, emptyAwarenessMessage, makeToken, newRoomId, newRoomKey, syncUpdateMessage } from './helpers.ts';

test('room log: a log cut at any byte scans to the records wholly before the cut', () => {
  const updates = [chunkUpdate('a/1-1', chunkBytes(1, 40)), chunkUpdate('b/1-1', chunkBytes(2, 3)), chunkUpdate('c/1-1', chunkBytes(3, 90))];
  const records = updates.map(encodeRecord);
  const file = Buffer.concat([MAGIC, ...records]);
  const ends = records.reduce<number[]>((acc, r) => [...acc, (acc.at(-1) ?? MAGIC.length) + r.length], []);
  for (let cut = 0; cut <= file.length; cut++) {
    const scan = scanLog(file.subarray(0, cut));
    assert.ok(scan.ok, `cut ${cut}`);
    const whole = ends.filter((e) => e <= cut).length;
    assert.equal(scan.updates.length, whole, `cut ${cut}`);
    scan.updates.forEach((u, i) => assert.deepEqual(Buffer.from(u), Buffer.from(updates[i] as Uint8Array)));
    const valid = cut < MAGIC.length ? 0 : (ends.filter((e) => e <= cut).at(-1) ?? MAGIC.length);
    assert.equal(scan.validBytes, valid, `cut ${cut}`);
    assert.equal(scan.tornBytes, cut - valid);
    assert.equal(scan.needsMagic, cut < MAGIC.length);
  }
});

test('room log: a flipped bit in the last record (torn write) ends the log before it; foreign files are refused', () => {
  const records = [encodeRecord(chunkUpdate('a/1-1', chunkBytes(1))), encodeRecord(chunkUpdate('b/1-1', chunkBytes(2)))];
  const file = Buffer.concat([MAGIC, ...records]);
  file.writeUInt8((file.at(-5) as number) ^ 0x10, file.length - 5);
  const scan = scanLog(file);
  assert.ok(scan.ok);
  assert.equal(scan.updates.length, 1);
  assert.equal(scan.tornBytes, (records[1] as Buffer).length);
  const zeroLength = Buffer.concat([MAGIC, Buffer.alloc(8)]);
  const z = scanLog(zeroLength);
  assert.ok(z.ok && z.updates.length === 0 && z.tornBytes === 8);
  assert.deepEqual(scanLog(Buffer.from('{"not":"a relay log"}')), { ok: false, reason: 'not_a_relay_log' });
  assert.deepEqual(scanLog(Buffer.from('KRX')), { ok: false, reason: 'not_a_relay_log' });
});

test('tokens: only the canonical k1 form parses', async () => {
  const roomId = newRoomId();
  const token = await makeToken(await newRoomKey(), roomId);
  assert.ok(parseToken(token));
  const [, exp, pk, sig] = token.split('.') as [string, string, string, string];
  for (const bad of [
    `k1.0${exp}.${pk}.${sig}`,
    `k1.-${exp}.${pk}.${sig}`,
    `k1.${exp}.${pk.toUpperCase()}.${sig}`,
    `k1.${exp}.${pk}.${sig.slice(2)}`,
    `k1.${exp}.${pk}0.${sig}`,
    `k1.99999999999999999.${pk}.${sig}`,
    `k1.${exp}.${pk}.${sig}.`,
    ` ${token}`,
  ]) {
    assert.equal(parseToken(bad), null, bad.slice(0, 24));
  }
});

test('tokens: the time window is (now, now + 10 minutes], checked before the signature', async () => {
  const roomId = newRoomId();
  const key = await newRoomKey();
  const now = Date.now();
  assert.deepEqual(await verifyToken(roomId, await makeToken(key, roomId, now), now), { ok: false, reason: 'expired' });
  assert.equal((await verifyToken(roomId, await makeToken(key, roomId, now + 1), now)).ok, true);
  assert.equal((await verifyToken(roomId, await makeToken(key, roomId, now + TOKEN_MAX_AHEAD_MS), now)).ok, true);
  assert.deepEqual(await verifyToken(roomId, await makeToken(key, roomId, now + TOKEN_MAX_AHEAD_MS + 1), now), { ok: false, reason: 'too_far_ahead' });
  assert.deepEqual(await verifyToken(roomId, null, now), { ok: false, reason: 'missing' });
  // A public key that is not a curve point cannot verify anything (and does not throw).
  const token = await makeToken(key, roomId, now + 1000);
  const [, exp, , sig] = token.split('.');
  assert.deepEqual(await verifyToken(roomId, `k1.${exp}.${'ff'.repeat(32)}.${sig}`, now), { ok: false, reason: 'bad_signature' });
});

test('room paths: one segment of 64 lowercase hex; a repeated token counts as malformed', () => {
  const r = newRoomId();
  assert.deepEqual(parseTarget(`/${r}?token=abc`), { ok: true, roomId: r, token: 'abc' });
  assert.deepEqual(parseTarget(`/${r}`), { ok: true, roomId: r, token: null });
  assert.deepEqual(parseTarget(`/${r}?token=a&token=b`), { ok: true, roomId: r, token: '' });
  for (const bad of [undefined, '', r, `/${r}/`, `/${r.toUpperCase()}`, `//${r}`, `/${r.slice(2)}`, '/healthz']) {
    assert.equal(parseTarget(bad).ok, false, String(bad));
  }
});

test('token bucket: bursts to its size, refills at its rate, never above its size', () => {
  const b = new TokenBucket({ perSecond: 10, burst: 5 }, 0);
  for (let i = 0; i < 5; i++) assert.ok(b.take(1, 0));
  assert.equal(b.take(1, 0), false);
  assert.equal(b.take(1, 99), false);
  assert.ok(b.take(1, 100));
  assert.ok(b.isFull(10_000));
  assert.ok(b.take(5, 10_000));
  assert.equal(b.take(1, 10_000), false);
});

test('limiter: a message needs room in the token and the address buckets and takes from neither when refused', () => {
  const limiter = new Limiter({
    tokenMessages: { perSecond: 1, burst: 3 },
    tokenBytes: { perSecond: 1000, burst: 1000 },
    addrMessages: { perSecond: 1, burst: 4 },
    addrBytes: { perSecond: 1000, burst: 10_000 },
    addrConnects: { perSecond: 1, burst: 2 },
  });
  assert.equal(limiter.message('t1', 'a', 10, 0), 'ok');
  assert.equal(limiter.message('t1', 'a', 2000, 0), 'token');
  assert.equal(limiter.message('t1', 'a', 10, 0), 'ok');
  assert.equal(limiter.message('t1', 'a', 10, 0), 'ok');
  assert.equal(limiter.message('t1', 'a', 10, 0), 'token');
  assert.equal(limiter.message('t2', 'a', 10, 0), 'ok');
  assert.equal(limiter.message('t3', 'a', 10, 0), 'addr');
  assert.equal(limiter.message('t3', 'b', 10, 0), 'ok');
  assert.ok(limiter.connect('a', 0) && limiter.connect('a', 0));
  assert.equal(limiter.connect('a', 0), false);
  assert.ok(limiter.buckets > 0);
  limiter.sweep(3_600_000);
  assert.equal(limiter.buckets, 0, 'refilled buckets are forgotten');
});

test('message inspection: what y-websocket clients send passes; anything else is malformed', () => {
  const doc = new Y.Doc();
  doc.getMap('chunks').set('a/1-1', chunkBytes(1));
  const update = Y.encodeStateAsUpdate(doc);
  const sv = Y.encodeStateVector(doc);
  assert.deepEqual(inspectMessage(syncUpdateMessage(update)), { ok: true, kind: 'sync_update', updateBytes: update.length });
  assert.deepEqual(inspectMessage(Uint8Array.from([0, 0, sv.length, ...sv])), { ok: true, kind: 'sync_step1', updateBytes: 0 });
  assert.deepEqual(inspectMessage(Uint8Array.from([0, 1, 2, 0, 0])), { ok: true, kind: 'sync_step2', updateBytes: 2 });
  assert.deepEqual(inspectMessage(emptyAwarenessMessage()), { ok: true, kind: 'awareness', updateBytes: 0 });
  const state = new TextEncoder().encode('{"user":1}');
  assert.equal(inspectMessage(Uint8Array.from([1, 4 + state.length, 1, 7, 1, state.length, ...state])).ok, true);
  for (const bad of [[], [4], [2, 0], [3], [0, 3, 0], [0, 2, 9, 1], [0, 2, 0, 0], [1, 3, 1, 7, 1], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1]]) {
    assert.equal(inspectMessage(Uint8Array.from(bad)).ok, false, JSON.stringify(bad));
  }
});

test('flags and environment: flags win over HOST/PORT/DATA_DIR/REDIS_URL; bad values are refused', () => {
  const parsed = parseConfig(['--port', '5555', '--max-message-bytes=2048'], { HOST: '0.0.0.0', PORT: '1', DATA_DIR: '/tmp/x' });
  assert.ok(!parsed.help);
  assert.equal(parsed.config.port, 5555);
  assert.equal(parsed.config.host, '0.0.0.0');
  assert.equal(parsed.config.dataDir, '/tmp/x');
  assert.equal(parsed.config.maxMessageBytes, 2048);
  assert.equal(parsed.config.maxRoomBytes, DEFAULTS['max-room-bytes']);
  const defaults = parseConfig([], {});
  assert.ok(!defaults.help);
  assert.deepEqual([defaults.config.host, defaults.config.port, defaults.config.dataDir], ['127.0.0.1', 4444, './relay-data']);
  assert.ok(defaults.config.rates.tokenBytes.burst >= defaults.config.maxMessageBytes);
  assert.deepEqual(parseConfig(['--help'], {}), { help: true });
  assert.equal(defaults.config.redis, null, 'no Redis unless asked: rooms in files');
  const shared = parseConfig([], { REDIS_URL: 'redis://127.0.0.1:6390' });
  assert.ok(!shared.help);
  assert.deepEqual(shared.config.redis, { url: 'redis://127.0.0.1:6390', compactEntries: DEFAULTS['redis-compact-entries'] });
  const flagged = parseConfig(['--redis-url', 'rediss://user:pw@redis.example:6380/2', '--redis-compact-entries', '0'], { REDIS_URL: 'redis://127.0.0.1:6390' });
  assert.ok(!flagged.help);
  assert.deepEqual(flagged.config.redis, { url: 'rediss://user:pw@redis.example:6380/2', compactEntries: 0 });
  for (const [argv, env] of [
    [['--port', '70000'], {}],
    [['--port', '-1'], {}],
    [['--port'], {}],
    [['--max-room-bytes', '1e9'], {}],
    [['--nope', '1'], {}],
    [['stray'], {}],
    [[], { PORT: 'abc' }],
    [[], { REDIS_URL: 'http://127.0.0.1:6379' }],
    [[], { REDIS_URL: '127.0.0.1:6379' }],
    [['--redis-url', 'redis://'], {}],
    [['--redis-compact-entries', '-1'], {}],
    [[], { YPERSISTENCE: './db' }],
    [[], { CALLBACK_URL: 'http://x' }],
  ] as const) {
    assert.throws(() => parseConfig(argv, env), ConfigError, JSON.stringify([argv, env]));
  }
});

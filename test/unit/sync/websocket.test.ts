/**
 * worker/sync/websocket.ts: the real y-websocket client (WebsocketProvider) and RelayConnection,
 * against an in-process relay (test/helpers/fake-relay.ts: the Yjs sync protocol over a fake
 * WebSocket class), no network.
 *
 * Invariants checked:
 * 1. It connects to <relay>/<roomId>?token=<token>, the token valid for that room; two devices
 *    with kernels and sync clients converge through it.
 * 2. Before a token expires a new one is minted and the connection is made again with it; the
 *    state stays `synced` through the refresh, and sync goes on.
 * 3. A relay that refuses the token (401) or closes for good (4401) is `refused`, and the sync
 *    client reports `relay_refused`; an unreachable relay is `offline`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import * as Y from 'yjs';
import { FakeRelay } from '../../helpers/fake-relay.ts';
import { memKernel, newKey, type Kernel } from '../../helpers/kernel.ts';
import { deriveRoom, newEpochKey, type Room } from '../../../worker/sync/keys.ts';
import { RelayConnection } from '../../../worker/sync/websocket.ts';
import { SyncClient } from '../../../worker/sync/client.ts';
import type { TransportState } from '../../../worker/sync/transport.ts';

const RELAY = 'ws://relay.test/sync';

function tokenValid(url: string, room: Room): boolean {
  const u = new URL(url);
  const m = /^k1\.(\d+)\.([0-9a-f]{64})\.([0-9a-f]{128})$/.exec(u.searchParams.get('token') ?? '');
  if (!m || u.pathname !== `/sync/${room.roomId}`) return false;
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(m[2]!, 'hex')]), format: 'der', type: 'spki' });
  return m[2] === room.authKeys.publicKeyHex && verify(null, Buffer.from(`kingdom.relay/1\n${room.roomId}\n${m[1]}`), pub, Buffer.from(m[3]!, 'hex'));
}

async function until(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface App { k: Kernel; doc: Y.Doc; connection: RelayConnection; client: SyncClient; states: TransportState['kind'][]; stop(): Promise<void> }

async function app(relay: FakeRelay, room: Room, opts: { tokenLifetimeMs?: number; refreshBeforeMs?: number; connectTimeoutMs?: number } = {}): Promise<App> {
  const k = await memKernel();
  const doc = new Y.Doc();
  const connection = await RelayConnection.open({ relayUrl: RELAY, room, doc, WebSocket: relay.WebSocket, ...opts });
  const states: TransportState['kind'][] = [];
  connection.onState((s) => states.push(s.kind));
  const client = new SyncClient({ kernel: k, doc, chunkKeys: room.chunkKeys, transport: connection });
  return { k, doc, connection, client, states, stop: async () => { await client.stop(); connection.close(); await k.close(); } };
}

const note = (k: Kernel, i: number) => k.command({ type: 'forest.node.create', payload: { title: `n${i}`, body: 'b', tags: [] }, idempotencyKey: newKey() });
const count = (k: Kernel, device: string) => k.exportChain(device, 0).events.length;

describe('relay connection (y-websocket)', () => {
  test('connects to <relay>/<roomId>?token=… with a valid token; two devices converge through it', async () => {
    const relay = new FakeRelay();
    const room = await deriveRoom(newEpochKey());
    const a = await app(relay, room);
    const b = await app(relay, room);
    try {
      await until('both synced', () => a.connection.state.kind === 'synced' && b.connection.state.kind === 'synced');
      assert.equal(relay.urls.length, 2);
      for (const url of relay.urls) assert.ok(tokenValid(url, room), url);
      for (let i = 0; i < 5; i++) note(a.k, i);
      for (let i = 0; i < 3; i++) note(b.k, i);
      await until('converged', () => count(b.k, a.k.deviceId) === a.k.ownHead.deviceSeq && count(a.k, b.k.deviceId) === b.k.ownHead.deviceSeq);
      await until('up to date', () => a.client.status().state === 'up_to_date' && b.client.status().state === 'up_to_date');
      assert.deepEqual(a.k.digest(), b.k.digest());
      assert.deepEqual(a.states.slice(-1), ['synced']);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('a socket that hangs while connecting is given up and made again; sync goes on', async () => {
    const relay = new FakeRelay();
    const room = await deriveRoom(newEpochKey());
    let attempts = 0;
    relay.decide = () => (++attempts === 1 ? 'hang' : 'accept');
    const a = await app(relay, room, { connectTimeoutMs: 100 });
    const b = await app(relay, room);
    try {
      note(a.k, 1);
      await until('A in sync after the hung attempt', () => a.connection.state.kind === 'synced');
      assert.ok(attempts >= 3, `attempts: ${attempts}`);
      assert.ok(!a.states.includes('offline'), `stays connecting through the retry: ${a.states.join(',')}`);
      await until('B got it', () => count(b.k, a.k.deviceId) === a.k.ownHead.deviceSeq);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('the token is refreshed before it expires by connecting again; the state stays synced and sync goes on', async () => {
    const relay = new FakeRelay();
    const room = await deriveRoom(newEpochKey());
    const a = await app(relay, room, { tokenLifetimeMs: 400, refreshBeforeMs: 250 });
    const b = await app(relay, room);
    try {
      await until('synced', () => a.connection.state.kind === 'synced');
      const from = a.states.length;
      await until('a second connection of A (B has one)', () => relay.urls.length >= 3, 3000);
      await until('A synced on its new connection', () => relay.openSockets.length === 2 && a.connection.state.kind === 'synced');
      const tokens = relay.urls.map((u) => new URL(u).searchParams.get('token'));
      assert.equal(new Set(tokens).size, tokens.length, 'every connection carries a fresh token');
      for (const url of relay.urls) assert.ok(tokenValid(url, room), url);
      assert.deepEqual(a.states.slice(from).filter((s) => s !== 'synced'), [], `the refresh showed: ${a.states.slice(from).join(' ')}`);
      note(a.k, 1);
      await until('B has it', () => count(b.k, a.k.deviceId) === a.k.ownHead.deviceSeq);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  test('a relay that refuses the token is refused, and the sync client says so; one that is down is offline', async () => {
    const relay = new FakeRelay();
    relay.decide = () => 401;
    const room = await deriveRoom(newEpochKey());
    const a = await app(relay, room);
    try {
      await until('refused', () => a.connection.state.kind === 'refused');
      assert.equal(a.client.status().state, 'problem');
      assert.equal(a.client.status().problem?.code, 'relay_refused');
      relay.decide = () => 'down';
      await until('offline', () => a.connection.state.kind === 'offline');
      relay.decide = () => 'accept';
      await until('synced once the relay takes it', () => a.connection.state.kind === 'synced', 8000);
      await until('the problem cleared', () => a.client.status().state === 'up_to_date');
    } finally {
      await a.stop();
    }
  });

  test('a relay that closes for good (4401) is refused and not retried', async () => {
    const relay = new FakeRelay();
    const room = await deriveRoom(newEpochKey());
    const a = await app(relay, room);
    try {
      await until('synced', () => a.connection.state.kind === 'synced');
      relay.kick(relay.openSockets[0]!, 4401, 'token revoked');
      await until('refused', () => a.connection.state.kind === 'refused');
      assert.match(a.client.status().sentence, /4401: token revoked/);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(relay.urls.length, 1, 'it came back');
    } finally {
      await a.stop();
    }
  });
});

/**
 * Limits: an oversized message, a room over its stored-bytes limit, garbage frames and floods
 * each end the offending connection with a close code and reason, are counted in /healthz, and
 * leave the process and every other room serving.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chunkBytes,
  chunkUpdate,
  type Client,
  connectClient,
  emptyAwarenessMessage,
  health,
  makeToken,
  newRoomId,
  newRoomKey,
  rawClient,
  type RelayProcess,
  removeDir,
  startRelay,
  syncUpdateMessage,
  upgradeStatus,
  waitFor,
} from './helpers.ts';

/** Another room with two clients that must keep syncing while a test abuses its own room. */
async function bystanders(relay: RelayProcess): Promise<{ a: Client; b: Client; check(tag: number): Promise<void>; destroy(): void }> {
  const roomId = newRoomId();
  const key = await newRoomKey();
  const a = connectClient(relay, roomId, await makeToken(key, roomId));
  const b = connectClient(relay, roomId, await makeToken(key, roomId));
  await Promise.all([a.synced(), b.synced()]);
  return {
    a,
    b,
    async check(tag) {
      a.chunks.set(`bystander/${tag}-${tag}`, chunkBytes(tag));
      await waitFor(() => b.chunks.has(`bystander/${tag}-${tag}`), 5000, `bystander chunk ${tag} to reach the other client`);
    },
    destroy() {
      a.destroy();
      b.destroy();
    },
  };
}

async function withRelay(args: string[], body: (relay: RelayProcess) => Promise<void>): Promise<void> {
  const relay = await startRelay({ args });
  try {
    await body(relay);
    assert.equal((await health(relay)).ok, true);
    assert.equal(relay.child.exitCode, null, 'the relay exited');
    assert.equal(relay.stderr(), '', 'the relay wrote to stderr');
  } finally {
    relay.kill();
    await removeDir(relay.dataDir);
  }
}

test('an oversized message closes its connection with 1009, is counted and not stored; other rooms keep serving', async () => {
  await withRelay(['--max-message-bytes', '65536'], async (relay) => {
    const others = await bystanders(relay);
    try {
      const roomId = newRoomId();
      const key = await newRoomKey();
      const raw = await rawClient(relay, roomId, await makeToken(key, roomId));
      raw.ws.send(syncUpdateMessage(chunkUpdate('big/1-1', chunkBytes(1, 100_000))));
      assert.deepEqual(await raw.closed(), { code: 1009, reason: 'message_too_big' });
      assert.equal((await health(relay)).refused.size, 1);
      await others.check(1);

      // Far past the limit (past ws's hard cap at twice it): the socket is cut, still counted.
      const raw2 = await rawClient(relay, roomId, await makeToken(key, roomId));
      raw2.ws.send(syncUpdateMessage(chunkUpdate('big/2-2', chunkBytes(2, 300_000))));
      await raw2.closed();
      await waitFor(async () => (await health(relay)).refused.size === 2, 5000, 'the second size refusal counted');
      await others.check(2);

      const c = connectClient(relay, roomId, await makeToken(key, roomId));
      try {
        await c.synced();
        assert.equal(c.chunks.size, 0, 'an oversized chunk was stored');
        c.chunks.set('small/1-1', chunkBytes(3, 1000));
        await waitFor(() => relay.lines.some((l) => l.event === 'conn.opened'), 1000, 'open');
      } finally {
        c.destroy();
      }
    } finally {
      others.destroy();
    }
  });
});

test('a room past its stored-bytes limit refuses the update with 1008 room_full; other rooms keep serving', async () => {
  await withRelay(['--max-room-bytes', '100000'], async (relay) => {
    const others = await bystanders(relay);
    try {
      const roomId = newRoomId();
      const key = await newRoomKey();
      const raw = await rawClient(relay, roomId, await makeToken(key, roomId));
      for (let i = 0; i < 10 && raw.isOpen(); i++) {
        raw.ws.send(syncUpdateMessage(chunkUpdate(`fill/${i}-${i}`, chunkBytes(i, 30_000))));
        await waitFor(() => raw.received.length > i || !raw.isOpen(), 5000, `echo of update ${i}`);
      }
      assert.deepEqual(await raw.closed(), { code: 1008, reason: 'room_full' });
      assert.equal((await health(relay)).refused.size, 1);
      await others.check(1);
    } finally {
      others.destroy();
    }
  });
});

test('garbage frames close their connection (1007, or 1003 for text), are counted, and the process stays up', async () => {
  await withRelay(['--rate-connects', '1000'], async (relay) => {
    const others = await bystanders(relay);
    try {
      const roomId = newRoomId();
      const key = await newRoomKey();
      const valid = syncUpdateMessage(chunkUpdate('devA/1-1', chunkBytes(1)));
      const garbage: Uint8Array[] = [
        Uint8Array.from([]),
        Uint8Array.from([7]),
        Uint8Array.from([2, 0]), // auth: a relay client never sends it
        Uint8Array.from([3]), // query awareness
        Uint8Array.from([0, 9, 1, 0]), // unknown sync step
        Uint8Array.from([0, 2, 200, 1]), // length past the end
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // varuint too large
        valid.subarray(0, valid.length - 3), // truncated
        Uint8Array.from([...valid, 0]), // trailing byte
        Uint8Array.from([0, 2, 5, 0xff, 0xff, 0xff, 0xff, 0xff]), // an update Yjs cannot decode
        Uint8Array.from([1, 4, 1, 1, 1, 0x7b]), // awareness state that is not JSON ("{")
        // Pseudo-random bytes (fixed seeds, so the run is the same every time).
        ...Array.from({ length: 20 }, (_, i) => chunkBytes(1000 + i, 1 + i * 13)),
      ];
      let expected = 0;
      for (const frame of garbage) {
        const raw = await rawClient(relay, roomId, await makeToken(key, roomId));
        raw.ws.send(frame);
        assert.deepEqual(await raw.closed(), { code: 1007, reason: 'malformed_message' }, `frame ${Buffer.from(frame.subarray(0, 8)).toString('hex')}`);
        expected++;
      }
      const text = await rawClient(relay, roomId, await makeToken(key, roomId));
      text.ws.send('hello');
      assert.deepEqual(await text.closed(), { code: 1003, reason: 'binary_only' });
      expected++;
      assert.equal(expected, garbage.length + 1);
      assert.equal((await health(relay)).refused.malformed, expected);
      await others.check(1);
      // The garbage reached no room: a client of that room sees nothing.
      const c = connectClient(relay, roomId, await makeToken(key, roomId));
      try {
        await c.synced();
        assert.equal(c.chunks.size, 0);
      } finally {
        c.destroy();
      }
    } finally {
      others.destroy();
    }
  });
});

test('a message flood is closed with 1013 rate_limited and stops; a connection flood gets 429; both counted', async () => {
  await withRelay(['--rate-token-messages', '50', '--rate-token-burst', '100', '--rate-connects', '20'], async (relay) => {
    const others = await bystanders(relay);
    try {
      const roomId = newRoomId();
      const key = await newRoomKey();
      const raw = await rawClient(relay, roomId, await makeToken(key, roomId));
      let sent = 0;
      // Bounded: at most 5000 messages, in bursts of 100, stopping as soon as the relay closes.
      while (sent < 5000 && raw.isOpen()) {
        for (let i = 0; i < 100; i++) raw.ws.send(emptyAwarenessMessage());
        sent += 100;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.deepEqual(await raw.closed(), { code: 1013, reason: 'rate_limited' });
      assert.ok(sent < 5000, `the flood ran to its bound (${sent}) instead of being closed`);
      const afterFlood = (await health(relay)).refused.rate;
      assert.equal(afterFlood, 1);
      await others.check(1);

      // A connection flood from one address: the connection bucket (burst 200 at 20/s) runs dry.
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        statuses.push(await upgradeStatus(relay, `/${newRoomId()}`));
        if (statuses.at(-1) === 429) break;
      }
      assert.equal(statuses.at(-1), 429, 'no 429 within 300 attempts');
      assert.ok(statuses.slice(0, -1).every((s) => s === 401));
      assert.equal((await health(relay)).refused.rate, afterFlood + 1);
      // Once the bucket refills, the address may connect again.
      const token = await makeToken(key, roomId);
      await waitFor(async () => (await upgradeStatus(relay, `/${roomId}?token=${token}`)) === 101, 5000, 'a connection after the bucket refilled');
      await others.check(2);
    } finally {
      others.destroy();
    }
  });
});

/**
 * Tokens at the upgrade (docs/sync-protocol.md, "Relay tokens"): only a valid token carrying the
 * room's pinned key opens a room; every refusal is a 401 (400 for a malformed room) before the
 * upgrade, counted, and writes nothing.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  chunkBytes,
  connectClient,
  health,
  makeToken,
  newRoomId,
  newRoomKey,
  type RelayProcess,
  removeDir,
  roomFiles,
  sleep,
  startRelay,
  upgradeStatus,
  waitFor,
} from './helpers.ts';

let relay: RelayProcess;
before(async () => {
  relay = await startRelay({ args: ['--rate-connects', '1000'] });
});
after(async () => {
  relay.kill();
  await removeDir(relay.dataDir);
});

/** Refusals (401) of tokens for a room nobody has opened: each must leave no file behind. */
async function assertRefusedAndNothingStored(roomId: string, token: string | null, expected = 401): Promise<void> {
  const before = (await health(relay)).refused;
  const path = token === null ? `/${roomId}` : `/${roomId}?token=${token}`;
  assert.equal(await upgradeStatus(relay, path), expected);
  assert.deepEqual(await roomFiles(relay.dataDir, roomId), [], 'a refused upgrade stored something');
  const now = (await health(relay)).refused;
  if (expected === 401) assert.equal(now.auth, before.auth + 1, 'the refusal was not counted as auth');
  else assert.equal(now.malformed, before.malformed + 1, 'the refusal was not counted as malformed');
}

test('a valid token opens the room and pins its key durably', async () => {
  const roomId = newRoomId();
  const key = await newRoomKey();
  assert.equal(await upgradeStatus(relay, `/${roomId}?token=${await makeToken(key, roomId)}`), 101);
  const pinned = await readFile(join(relay.dataDir, 'rooms', `${roomId}.key`), 'utf8');
  assert.equal(pinned.trim(), key.publicKeyHex);
  assert.ok(relay.lines.some((l) => l.event === 'room.key_pinned' && l.room === roomId.slice(0, 8)));
});

test('no token: 401, nothing stored', async () => {
  await assertRefusedAndNothingStored(newRoomId(), null);
});

test('a token that is not k1 form: 401, nothing stored', async () => {
  const roomId = newRoomId();
  const good = await makeToken(await newRoomKey(), roomId);
  for (const bad of ['', 'k1', good.replace('k1.', 'k2.'), good.toUpperCase(), `${good}0`, good.replace(/\.(\d)/, '.0$1')]) {
    await assertRefusedAndNothingStored(roomId, encodeURIComponent(bad));
  }
});

test('a bad signature: 401, nothing stored', async () => {
  const roomId = newRoomId();
  const key = await newRoomKey();
  const token = await makeToken(key, roomId);
  const sig = token.split('.')[3] as string;
  const flipped = `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`;
  await assertRefusedAndNothingStored(roomId, token.replace(sig, flipped));
  // Signed for another room: the signature covers the room id.
  await assertRefusedAndNothingStored(roomId, await makeToken(key, newRoomId()));
  // Another key's signature under this key.
  const other = await makeToken(await newRoomKey(), roomId);
  await assertRefusedAndNothingStored(roomId, `${token.split('.').slice(0, 3).join('.')}.${other.split('.')[3]}`);
});

test('an expired token: 401, nothing stored', async () => {
  const roomId = newRoomId();
  await assertRefusedAndNothingStored(roomId, await makeToken(await newRoomKey(), roomId, Date.now() - 1000));
});

test('a token expiring more than 10 minutes ahead: 401, nothing stored (9 minutes is fine)', async () => {
  const roomId = newRoomId();
  const key = await newRoomKey();
  await assertRefusedAndNothingStored(roomId, await makeToken(key, roomId, Date.now() + 11 * 60_000));
  assert.equal(await upgradeStatus(relay, `/${roomId}?token=${await makeToken(key, roomId, Date.now() + 9 * 60_000)}`), 101);
});

test('a token with another key than the pinned one: 401, the pin and the room unchanged', async () => {
  const roomId = newRoomId();
  const owner = await newRoomKey();
  const a = connectClient(relay, roomId, await makeToken(owner, roomId));
  try {
    await a.synced();
    a.chunks.set('devA/1-1', chunkBytes(1));
    await waitFor(() => relay.lines.some((l) => l.event === 'conn.opened' && l.room === roomId.slice(0, 8)), 5000, 'conn.opened');
    const files = await roomFiles(relay.dataDir, roomId);
    const pinned = await readFile(join(relay.dataDir, 'rooms', `${roomId}.key`), 'utf8');
    const intruder = await newRoomKey();
    const before = (await health(relay)).refused.auth;
    assert.equal(await upgradeStatus(relay, `/${roomId}?token=${await makeToken(intruder, roomId)}`), 401);
    assert.equal((await health(relay)).refused.auth, before + 1);
    assert.equal(await readFile(join(relay.dataDir, 'rooms', `${roomId}.key`), 'utf8'), pinned);
    assert.deepEqual(await roomFiles(relay.dataDir, roomId), files);
    const refusal = relay.lines.findLast((l) => l.event === 'refused.auth');
    assert.equal(refusal?.details?.reason, 'key_not_pinned');
  } finally {
    a.destroy();
  }
});

test('a y-websocket client with a refused token never syncs and changes nothing in the room', async () => {
  const roomId = newRoomId();
  const owner = await newRoomKey();
  const a = connectClient(relay, roomId, await makeToken(owner, roomId));
  const intruder = connectClient(relay, roomId, await makeToken(await newRoomKey(), roomId));
  try {
    await a.synced();
    a.chunks.set('devA/1-1', chunkBytes(1));
    intruder.chunks.set('evil/1-1', chunkBytes(666));
    await sleep(1000);
    assert.equal(intruder.provider.synced, false);
    assert.equal(intruder.chunks.has('devA/1-1'), false, 'the intruder learnt a chunk');
    assert.equal(a.chunks.has('evil/1-1'), false, 'the intruder wrote a chunk');
  } finally {
    a.destroy();
    intruder.destroy();
  }
});

test('a malformed room id: 400, counted as malformed, nothing stored', async () => {
  const key = await newRoomKey();
  const roomId = newRoomId();
  const token = await makeToken(key, roomId);
  for (const path of [
    `/${roomId.toUpperCase()}?token=${token}`,
    `/${roomId.slice(1)}?token=${token}`,
    `/${roomId}0?token=${token}`,
    `/${roomId}/x?token=${token}`,
    `/rooms/${roomId}?token=${token}`,
    `/?token=${token}`,
  ]) {
    const before = (await health(relay)).refused.malformed;
    assert.equal(await upgradeStatus(relay, path), 400, path.slice(0, 20));
    assert.equal((await health(relay)).refused.malformed, before + 1);
  }
  assert.deepEqual(await roomFiles(relay.dataDir, roomId), []);
});

test('two first tokens with different keys racing for a new room: exactly one key wins', async () => {
  for (let round = 0; round < 5; round++) {
    const roomId = newRoomId();
    const keys = await Promise.all([newRoomKey(), newRoomKey(), newRoomKey()]);
    const tokens = await Promise.all(keys.map((k) => makeToken(k, roomId)));
    const statuses = await Promise.all(tokens.map((t) => upgradeStatus(relay, `/${roomId}?token=${t}`)));
    assert.equal(statuses.filter((s) => s === 101).length, 1, `round ${round}: ${statuses.join(',')}`);
    assert.equal(statuses.filter((s) => s === 401).length, 2);
    const winner = keys[statuses.indexOf(101)]?.publicKeyHex;
    assert.equal((await readFile(join(relay.dataDir, 'rooms', `${roomId}.key`), 'utf8')).trim(), winner);
  }
});

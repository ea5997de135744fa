/**
 * worker/sync/keys.ts against docs/sync-protocol.md, checked with an independent implementation
 * (node:crypto's HKDF and Ed25519), so a relay written from the document agrees with the app.
 *
 * Invariants checked:
 * 1. The room id, the events key and the relay-auth seed are HKDF-SHA256(epoch key, salt
 *    `kingdom.sync/1`, info `room` / `events` / `relay-auth`); the same epoch key gives the same
 *    room, another epoch key another room.
 * 2. The derived secret keys are non-extractable.
 * 3. A relay token is `k1.<expiresAtMs>.<publicKeyHex>.<signatureHex>`, the signature an Ed25519
 *    signature by the relay-auth key over `kingdom.relay/1\n<roomId>\n<expiresAtMs>`.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, hkdfSync, verify } from 'node:crypto';
import { deriveRoom, newEpochKey, relayToken, ED25519_PKCS8_PREFIX } from '../../../worker/sync/keys.ts';

const derive = (epoch: Uint8Array, info: string) => Buffer.from(hkdfSync('sha256', epoch, 'kingdom.sync/1', info, 32));

/** The raw public key of an Ed25519 seed, by node:crypto. */
function publicKeyOfSeed(seed: Buffer): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from(ED25519_PKCS8_PREFIX, 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 32);
}

describe('sync keys', () => {
  test('the room id and the relay-auth key are HKDF-SHA256 of the epoch key, as the protocol says', async () => {
    const epoch = newEpochKey();
    assert.equal(epoch.length, 32);
    const room = await deriveRoom(epoch);
    assert.match(room.roomId, /^[0-9a-f]{64}$/);
    assert.equal(room.roomId, derive(epoch, 'room').toString('hex'));
    assert.equal(room.authKeys.publicKeyHex, publicKeyOfSeed(derive(epoch, 'relay-auth')).toString('hex'));
  });

  test('the same epoch key gives the same room on every device; another epoch key another room', async () => {
    const epoch = newEpochKey();
    const [a, b, other] = await Promise.all([deriveRoom(epoch), deriveRoom(Uint8Array.from(epoch)), deriveRoom(newEpochKey())]);
    assert.equal(a.roomId, b.roomId);
    assert.equal(a.authKeys.publicKeyHex, b.authKeys.publicKeyHex);
    assert.notEqual(a.roomId, other.roomId);
    assert.notEqual(a.authKeys.publicKeyHex, other.authKeys.publicKeyHex);
  });

  test('derived secret keys cannot be exported', async () => {
    const room = await deriveRoom(newEpochKey());
    for (const key of [room.chunkKeys.aes, room.chunkKeys.iv, room.authKeys.privateKey]) {
      assert.equal(key.extractable, false, `${key.algorithm.name} is extractable`);
    }
    assert.deepEqual(room.chunkKeys.aes.usages.sort(), ['decrypt', 'encrypt']);
  });

  test('an epoch key that is not 32 bytes is refused', async () => {
    await assert.rejects(deriveRoom(new Uint8Array(31)), /32 bytes/);
    await assert.rejects(deriveRoom('x'.repeat(32) as unknown as Uint8Array), /32 bytes/);
  });

  test('a relay token is k1.<expires>.<public key>.<Ed25519 signature over the room and expiry>', async () => {
    const room = await deriveRoom(newEpochKey());
    const expires = Date.UTC(2026, 11, 7, 12, 0, 0);
    const token = await relayToken(room.authKeys, room.roomId, expires);
    const m = /^k1\.(\d+)\.([0-9a-f]{64})\.([0-9a-f]{128})$/.exec(token);
    assert.ok(m, token);
    assert.equal(Number(m[1]), expires);
    assert.equal(m[2], room.authKeys.publicKeyHex);
    const spkiPrefix = Buffer.from('302a300506032b6570032100', 'hex');
    const pub = createPublicKey({ key: Buffer.concat([spkiPrefix, Buffer.from(m[2]!, 'hex')]), format: 'der', type: 'spki' });
    const sig = Buffer.from(m[3]!, 'hex');
    assert.equal(verify(null, Buffer.from(`kingdom.relay/1\n${room.roomId}\n${expires}`), pub, sig), true);
    assert.equal(verify(null, Buffer.from(`kingdom.relay/1\n${room.roomId}\n${expires + 1}`), pub, sig), false, 'the expiry is signed');
    const other = await deriveRoom(newEpochKey());
    assert.equal(verify(null, Buffer.from(`kingdom.relay/1\n${other.roomId}\n${expires}`), pub, sig), false, 'the room is signed');
  });

  test('a token for a malformed room id or expiry is a caller bug', async () => {
    const room = await deriveRoom(newEpochKey());
    await assert.rejects(relayToken(room.authKeys, room.roomId.toUpperCase(), 1), TypeError);
    await assert.rejects(relayToken(room.authKeys, room.roomId, 1.5), TypeError);
  });
});

/**
 * Signed checkpoints (worker/kernel/log/checkpoint.ts, keys.ts).
 *
 * Invariants checked:
 * 1. With `checkpointEvery: N`, a checkpoint is written once N events were appended since the last.
 * 2. A checkpoint signs (audit head, device, deviceSeq, headHash, keyId) of an event of the device's own chain with Ed25519, and the
 *    signature verifies with the public key from the `device.key_registered` event (checked here
 *    with node:crypto, independently of the kernel's WebCrypto code).
 * 3. `kernel.checkpoint()` forces one at the current head (null when the head did not move).
 * 4. Across reopen with a new device key, old checkpoints still verify with the old key.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openKernel } from '../../../../worker/node/index.ts';
import { checkpointMessage, CHECKPOINT_DOMAIN, type Checkpoint } from '../../../../worker/kernel/log/checkpoint.ts';
import { canonicalJson } from '../../../../worker/kernel/log/canonical.ts';
import { createWorkspace, memKernel, withTempDir, type Kernel } from '../../../helpers/kernel.ts';

function registeredKeys(k: Kernel): Map<string, { publicKey: string; seq: number; device: string }> {
  const out = new Map<string, { publicKey: string; seq: number; device: string }>();
  for (const e of k.readEvents(0, 10_000, { types: ['device.key_registered'] })) {
    const p = e.payload as { keyId: string; publicKey: string; device: string; algorithm: string };
    assert.equal(p.algorithm, 'Ed25519');
    out.set(p.keyId, { publicKey: p.publicKey, seq: e.seq, device: p.device });
  }
  return out;
}

/** Verify an Ed25519 signature with node:crypto from the raw 32-byte public key in hex. */
function nodeVerifies(publicKeyHex: string, signatureHex: string, message: string): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKeyHex, 'hex').toString('base64url') }, format: 'jwk' });
  return nodeVerify(null, Buffer.from(message, 'utf8'), key, Buffer.from(signatureHex, 'hex'));
}

function assertCheckpointValid(k: Kernel, c: Checkpoint): void {
  const e = k.readEvents(c.seq - 1, 1)[0];
  assert.ok(e && e.seq === c.seq, `checkpoint ${c.seq} covers a stored event`);
  assert.equal(c.headHash, e.hash);
  const key = registeredKeys(k).get(c.keyId);
  assert.ok(key, `key ${c.keyId} is registered in the log`);
  assert.ok(key.seq <= c.seq, 'registered before the checkpoint');
  assert.equal(key.device, c.device);
  const msg = checkpointMessage(c);
  assert.equal(e.deviceSeq, c.deviceSeq);
  assert.equal(msg, CHECKPOINT_DOMAIN + canonicalJson({ audit: c.audit, device: c.device, deviceSeq: c.deviceSeq, headHash: c.headHash, keyId: c.keyId }));
  assert.ok(nodeVerifies(key.publicKey, c.signature, msg), `checkpoint ${c.seq} signature verifies`);
  assert.equal(nodeVerifies(key.publicKey, c.signature, msg.replace(`"deviceSeq":${c.deviceSeq}`, `"deviceSeq":${c.deviceSeq + 1}`)), false, 'and only for its own message');
}

describe('checkpoints', () => {
  test('with checkpointEvery 10 checkpoints appear every 10 events and their signatures verify with the registered key', async () => {
    const k = await memKernel({ checkpointEvery: 10 });
    try {
      for (let i = 0; i < 35; i++) {
        createWorkspace(k, `W${i}`);
        await k.verify(); // waits for a pending checkpoint
      }
      const cps = k.checkpoints();
      assert.deepEqual(cps.map((c) => c.seq), [10, 20, 30]);
      for (const c of cps) {
        assert.equal(c.device, k.deviceId);
        assert.equal(c.keyId, k.status().keyId);
        assertCheckpointValid(k, c);
      }
      assert.equal(k.status().lastCheckpointSeq, 30);
      const report = await k.verify();
      assert.equal(report.ok, true);
      assert.equal(report.checkpoints, 3);
    } finally {
      await k.close();
    }
  });

  test('consecutive automatic checkpoints are at least checkpointEvery events apart', async () => {
    const k = await memKernel({ checkpointEvery: 7 });
    try {
      for (let i = 0; i < 40; i++) {
        createWorkspace(k, `W${i}`);
        if (i % 3 === 0) await k.verify();
      }
      await k.verify();
      const seqs = k.checkpoints().map((c) => c.seq);
      assert.ok(seqs.length >= 2, JSON.stringify(seqs));
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! - seqs[i - 1]! >= 7, JSON.stringify(seqs));
      for (const c of k.checkpoints()) assertCheckpointValid(k, c);
    } finally {
      await k.close();
    }
  });

  test('kernel.checkpoint() forces a checkpoint at the current head', async () => {
    const k = await memKernel();
    try {
      createWorkspace(k, 'A');
      const c = await k.checkpoint();
      assert.ok(c);
      assert.equal(c.seq, k.status().headSeq);
      assert.equal(c.headHash, k.status().headHash);
      assertCheckpointValid(k, c);
      assert.deepEqual(k.checkpoints(), [c]);
      assert.deepEqual(k.query('checkpoints.list', {}), [c]);
    } finally {
      await k.close();
    }
  });

  test('kernel.checkpoint() returns null when the head has not moved since the last one', async () => {
    const k = await memKernel();
    try {
      assert.equal(await k.checkpoint(), null, 'an empty chain has nothing to sign');
      createWorkspace(k, 'W');
      await k.checkpoint();
      assert.equal(await k.checkpoint(), null);
      assert.equal(k.checkpoints().length, 1);
    } finally {
      await k.close();
    }
  });

  test('after reopening with a new device key, old checkpoints verify with the old key and new ones with the new key', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file } });
      createWorkspace(k1, 'A');
      const c1 = (await k1.checkpoint())!;
      const key1 = k1.status().keyId;
      await k1.close();
      rmSync(`${file}.device-key.json`); // the device's private key is lost: a new one is made

      const k2 = await openKernel({ storage: { file } });
      try {
        const key2 = k2.status().keyId;
        assert.notEqual(key2, key1);
        assert.deepEqual([...registeredKeys(k2).keys()], [key1, key2]);
        createWorkspace(k2, 'B');
        const c2 = (await k2.checkpoint())!;
        assert.equal(c2.keyId, key2);
        assertCheckpointValid(k2, c1);
        assertCheckpointValid(k2, c2);
        const report = await k2.verify();
        assert.equal(report.ok, true, JSON.stringify(report.broken));
        assert.equal(report.checkpoints, 2);
      } finally {
        await k2.close();
      }
    }));

  test('reopening with the same key file registers no second key', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file } });
      const keyId = k1.status().keyId;
      createWorkspace(k1, 'A');
      await k1.close();
      const k2 = await openKernel({ storage: { file } });
      try {
        assert.equal(k2.status().keyId, keyId);
        assert.equal(registeredKeys(k2).size, 1);
        assert.equal(k2.readEvents(0, 100, { types: ['device.key_registered'] }).length, 1);
      } finally {
        await k2.close();
      }
    }));
});

/**
 * The audit chain (worker/kernel/log/audit.ts).
 *
 * Invariants checked:
 * 1. Entries are gapless from 1 and chained: prev = previous hash (GENESIS first),
 *    hash = sha256(AUDIT_HASH_DOMAIN + canonicalJson(entry without hash)).
 * 2. Every entry points at an existing event (same seq and id) of the audited action.
 * 3. A rolled-back privileged command leaves no entry and does not disturb the chain.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { AUDIT_HASH_DOMAIN, hashAudit } from '../../../../worker/kernel/log/audit.ts';
import { canonicalJson } from '../../../../worker/kernel/log/canonical.ts';
import { GENESIS, sha256Hex } from '../../../../worker/kernel/log/hash.ts';
import { catchError, createProject, createWorkspace, memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

async function withMem<T>(fn: (k: Kernel) => Promise<T> | T): Promise<T> {
  const k = await memKernel();
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

function assertChain(k: Kernel): void {
  const entries = k.auditEntries();
  let prev = GENESIS;
  entries.forEach((a, i) => {
    assert.equal(a.seq, i + 1, 'gapless from 1');
    assert.equal(a.prev, prev, `entry ${a.seq} prev`);
    const { hash, ...rest } = a;
    assert.equal(hash, hashAudit(rest));
    assert.equal(hash, sha256Hex(AUDIT_HASH_DOMAIN + canonicalJson(rest)));
    const e = k.readEvents(a.eventSeq - 1, 1)[0];
    assert.ok(e && e.seq === a.eventSeq, `entry ${a.seq} points at stored event ${a.eventSeq}`);
    assert.equal(e.id, a.eventId);
    assert.equal(e.type, a.action, 'the audited action names the event type it records');
    assert.equal(e.actor, a.actor);
    assert.equal(e.at, a.at);
    prev = hash;
  });
}

describe('audit chain', () => {
  test('the device key registration, written with the first write, is the first audit entry', () =>
    withMem((k) => {
      assert.deepEqual(k.auditEntries(), [], 'opening writes nothing');
      createWorkspace(k, 'W');
      const [first] = k.auditEntries();
      assert.ok(first);
      assert.equal(first.action, 'device.key_registered');
      assert.equal(first.prev, GENESIS);
      assert.equal(first.actor, 'system');
      const e = k.readEvents(first.eventSeq - 1, 1)[0]!;
      assert.equal(e.seq, 1, 'before the first write\'s own event');
      assert.equal((e.payload as { keyId: string }).keyId, k.status().keyId);
    }));

  test('entries are chained by prev/hash and each points at an existing event', () =>
    withMem((k) => {
      for (let i = 0; i < 5; i++) {
        const w = createWorkspace(k, `W${i}`);
        const p = createProject(k, w, 'P');
        k.command({ type: 'project.archive', payload: { projectId: p }, idempotencyKey: newKey() });
        if (i % 2 === 0) k.command({ type: 'workspace.archive', payload: { workspaceId: w }, idempotencyKey: newKey() });
      }
      k.rebuild();
      assert.equal(k.auditEntries().length, 1 + 5 + 3 + 1);
      assertChain(k);
      assert.equal(k.status().auditSeq, k.auditEntries().length);
    }));

  test('a rolled-back batch with a privileged command leaves no audit entry and the chain continues', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const before = k.auditEntries();
      catchError(() => k.commandBatch([
        { type: 'workspace.archive', payload: { workspaceId: w }, idempotencyKey: newKey() },
        { type: 'workspace.rename', payload: { workspaceId: crypto.randomUUID(), name: 'x' }, idempotencyKey: newKey() },
      ]));
      assert.deepEqual(k.auditEntries(), before);
      k.command({ type: 'workspace.archive', payload: { workspaceId: w }, idempotencyKey: newKey() });
      assert.equal(k.auditEntries().length, before.length + 1);
      assertChain(k);
    }));

  test('audit.list pages through entries after a seq', () =>
    withMem((k) => {
      for (let i = 0; i < 3; i++) k.command({ type: 'workspace.archive', payload: { workspaceId: createWorkspace(k, `W${i}`) }, idempotencyKey: newKey() });
      const page = k.query('audit.list', { afterSeq: 1, limit: 2 }) as { seq: number }[];
      assert.deepEqual(page.map((a) => a.seq), [2, 3]);
    }));
});

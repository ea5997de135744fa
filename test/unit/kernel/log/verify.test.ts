/**
 * verify (worker/kernel/log/verify.ts) names the first broken link of a tampered log.
 *
 * Tampering goes through the raw SQL handle after dropping the append-only triggers, then
 * `store.reloadHead()` so the kernel's cached head does not mask anything.
 *
 * Invariants checked:
 * 1. An untampered log verifies ok with correct counts and head.
 * 2. events chain: changed bytes → hash_mismatch; deleted event → missing_event; reordered pair →
 *    broken at the first of them; changed prev → prev_mismatch; a consistently rewritten event is
 *    caught at the next one (prev_mismatch) or, if the whole tail is rewritten, by the checkpoint.
 * 3. checkpoints: foreign signature → checkpoint_bad_signature; changed head hash →
 *    checkpoint_hash_mismatch; unregistered key → checkpoint_unknown_key.
 * 4. audit chain: changed entry → chain 'audit'.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hashEventWithPayloadJson } from '../../../../worker/kernel/log/envelope.ts';
import { rowIdentity } from '../../../../worker/kernel/log/event-store.ts';
import { hashAudit, rowToAudit } from '../../../../worker/kernel/log/audit.ts';
import { checkpointMessage } from '../../../../worker/kernel/log/checkpoint.ts';
import { generateKeyPair, keyIdOf, publicKeyHexOf, sign } from '../../../../worker/kernel/log/keys.ts';
import type { VerifyReport } from '../../../../worker/kernel/log/verify.ts';
import { createWorkspace, memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

const TRIGGERS = ['events_append_only_update', 'events_append_only_delete', 'audit_append_only_update', 'audit_append_only_delete',
  'checkpoints_append_only_update', 'checkpoints_append_only_delete'];

/** A kernel with 22 events, 4 audit entries and checkpoints at 10, 20 and the head (22). */
async function seeded(): Promise<Kernel> {
  const k = await memKernel({ checkpointEvery: 10 });
  for (let i = 0; i < 18; i++) {
    const w = createWorkspace(k, `W${i}`);
    if (i % 5 === 4) k.command({ type: 'workspace.archive', payload: { workspaceId: w }, idempotencyKey: newKey() });
    await k.verify(); // let the automatic checkpoint at 10 land
  }
  await k.checkpoint();
  const r = await k.verify();
  assert.equal(r.ok, true, `seeded log verifies: ${JSON.stringify(r.broken)}`);
  return k;
}

function unlock(k: Kernel): void {
  for (const t of TRIGGERS) k.sql.exec(`DROP TRIGGER ${t}`);
}

async function tamperAndVerify(k: Kernel, tamper: () => void): Promise<VerifyReport> {
  unlock(k);
  tamper();
  k.store.reloadHead();
  k.audit.reload();
  return k.verify();
}

function expectBroken(r: VerifyReport, chain: string, seq: number, reason: string): void {
  assert.equal(r.ok, false, 'verify must fail');
  assert.ok(r.broken, 'verify names a broken link');
  assert.deepEqual({ chain: r.broken.chain, seq: r.broken.seq, reason: r.broken.reason }, { chain, seq, reason }, r.broken.message);
  assert.ok(r.broken.message.includes(String(seq)), `message names the seq: ${r.broken.message}`);
}

type Row = Record<string, string | number>;

function eventRow(k: Kernel, seq: number): Row {
  return k.sql.get('SELECT * FROM events WHERE seq = ?', [seq]) as Row;
}

/** Rewrite event `seq` with `changes` and a recomputed, self-consistent hash. Returns the new hash. */
function rewriteEvent(k: Kernel, seq: number, changes: Partial<Row>): string {
  const r = { ...eventRow(k, seq), ...changes };
  const hash = hashEventWithPayloadJson(rowIdentity(r as never), String(r["payload"]));
  k.sql.run('UPDATE events SET payload = ?, prev = ?, stream_seq = ?, hash = ? WHERE seq = ?',
    [r['payload']!, r['prev']!, r['stream_seq']!, hash, seq]);
  return hash;
}

async function withSeeded(fn: (k: Kernel) => Promise<void>): Promise<void> {
  const k = await seeded();
  try {
    await fn(k);
  } finally {
    await k.close();
  }
}

describe('verify', () => {
  test('an untampered log verifies ok with correct counts and head', () =>
    withSeeded(async (k) => {
      const r = await k.verify();
      const s = k.status();
      assert.equal(r.ok, true);
      assert.equal(r.broken, null);
      assert.equal(r.events, s.headSeq);
      assert.equal(r.headSeq, s.headSeq);
      assert.equal(r.headHash, s.headHash);
      assert.equal(r.auditEntries, k.auditEntries().length);
      assert.equal(r.auditEntries, 1 + 3);
      assert.equal(r.checkpoints, k.checkpoints().length);
      assert.deepEqual(k.checkpoints().map((c) => c.seq), [10, 20, s.headSeq]);
    }));

  test('an empty database verifies ok', async () => {
    const k = await memKernel();
    try {
      const r = await k.verify();
      assert.equal(r.ok, true);
      assert.equal(r.events, k.status().headSeq);
    } finally {
      await k.close();
    }
  });

  test('verify reports progress up to the total', () =>
    withSeeded(async (k) => {
      const calls: [number, number][] = [];
      await k.verify((checked, total) => calls.push([checked, total]));
      assert.ok(calls.length >= 1);
      assert.deepEqual(calls.at(-1), [k.status().headSeq, k.status().headSeq]);
    }));

  test('flipping one byte of an event payload is hash_mismatch at that seq', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        const payload = String(eventRow(k, 5)['payload']);
        const i = payload.indexOf('W');
        const flipped = payload.slice(0, i) + 'X' + payload.slice(i + 1);
        k.sql.run('UPDATE events SET payload = ? WHERE seq = 5', [flipped]);
      });
      expectBroken(r, 'events', 5, 'hash_mismatch');
      assert.equal(r.events, 4, 'events before the broken one were checked');
    }));

  test('changing any stored column other than hash and prev is hash_mismatch at that seq', () =>
    withSeeded(async (k) => {
      for (const [col, value] of [['id', crypto.randomUUID()], ['type', 'workspace.renamed'], ['at', '2000-01-01T00:00:00.000Z'], ['actor', 'mallory'], ['v', 2], ['stream', 'workspace:other']] as const) {
        const original = eventRow(k, 6)[col]!;
        const r = await tamperAndVerify(k, () => k.sql.run(`UPDATE events SET ${col} = ? WHERE seq = 6`, [value]));
        expectBroken(r, 'events', 6, 'hash_mismatch');
        k.sql.run(`UPDATE events SET ${col} = ? WHERE seq = 6`, [original]);
        assert.equal((await k.verify()).ok, true, `restoring ${col} repairs the chain`);
        for (const t of TRIGGERS) k.sql.exec(`CREATE TRIGGER IF NOT EXISTS ${t} BEFORE ${t.endsWith('update') ? 'UPDATE' : 'DELETE'} ON ${t.split('_append')[0]} BEGIN SELECT RAISE(ABORT, 'append-only'); END`);
      }
    }));

  test('deleting an event in the middle is missing_event at that seq', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => k.sql.run('DELETE FROM events WHERE seq = 7'));
      expectBroken(r, 'events', 7, 'missing_event');
    }));

  test('deleting the newest event is caught by the checkpoint that covered it', () =>
    withSeeded(async (k) => {
      const head = k.status().headSeq;
      const r = await tamperAndVerify(k, () => k.sql.run('DELETE FROM events WHERE seq = ?', [head]));
      // The signed event is gone from this database (seq 0); the link names its chain position.
      expectBroken(r, 'checkpoints', 0, 'checkpoint_hash_mismatch');
      assert.equal(r.broken!.deviceSeq, head);
    }));

  test('swapping the contents of two adjacent events is broken at the first of them', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        const a = eventRow(k, 8);
        const b = eventRow(k, 9);
        const cols = ['id', 'device_seq', 'hlc', 'stream', 'stream_seq', 'stream_base', 'type', 'v', 'at', 'actor', 'device', 'payload', 'prev', 'hash'];
        const set = cols.map((c) => `${c} = ?`).join(', ');
        // Park row 8 on placeholder unique values first (id and (stream, stream_seq) are UNIQUE).
        k.sql.run("UPDATE events SET id = 'tmp', stream = 'tmp', device_seq = -1, hlc = 'tmp', hash = 'tmp' WHERE seq = 8");
        k.sql.run(`UPDATE events SET ${set} WHERE seq = 9`, [...cols.map((c) => a[c]!)]);
        k.sql.run(`UPDATE events SET ${set} WHERE seq = 8`, [...cols.map((c) => b[c]!)]);
      });
      assert.equal(r.ok, false);
      assert.equal(r.broken!.chain, 'events');
      assert.equal(r.broken!.seq, 8);
    }));

  test('swapping the payloads of two adjacent events of the same type is hash_mismatch at the first', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        const a = eventRow(k, 3);
        const b = eventRow(k, 4);
        assert.equal(a['type'], b['type']);
        k.sql.run('UPDATE events SET payload = ? WHERE seq = 3', [b['payload']!]);
        k.sql.run('UPDATE events SET payload = ? WHERE seq = 4', [a['payload']!]);
      });
      expectBroken(r, 'events', 3, 'hash_mismatch');
    }));

  test('changing prev is prev_mismatch at that seq', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => k.sql.run('UPDATE events SET prev = ? WHERE seq = 11', ['f'.repeat(64)]));
      expectBroken(r, 'events', 11, 'prev_mismatch');
    }));

  test('an event rewritten with a recomputed hash is caught at the next event (prev_mismatch)', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        const payload = String(eventRow(k, 5)['payload']).replace('W', 'Z');
        rewriteEvent(k, 5, { payload });
      });
      expectBroken(r, 'events', 6, 'prev_mismatch');
    }));

  test('a rewritten chain tail with recomputed hashes is caught by the signed checkpoint', () =>
    withSeeded(async (k) => {
      const head = k.status().headSeq;
      const r = await tamperAndVerify(k, () => {
        let prev = rewriteEvent(k, 5, { payload: String(eventRow(k, 5)['payload']).replace('W', 'Z') });
        for (let seq = 6; seq <= head; seq++) prev = rewriteEvent(k, seq, { prev });
      });
      // The event chain is self-consistent now; the first checkpoint after seq 5 disagrees.
      expectBroken(r, 'checkpoints', 10, 'checkpoint_hash_mismatch');
    }));

  test('a streamSeq gap with a recomputed hash is stream_seq_mismatch', () =>
    withSeeded(async (k) => {
      const head = k.status().headSeq;
      const r = await tamperAndVerify(k, () => {
        let prev = rewriteEvent(k, 12, { stream_seq: 5 });
        for (let seq = 13; seq <= head; seq++) prev = rewriteEvent(k, seq, { prev });
      });
      expectBroken(r, 'events', 12, 'stream_seq_mismatch');
    }));

  test('a checkpoint signature made by another key is checkpoint_bad_signature', () =>
    withSeeded(async (k) => {
      const c = k.checkpoints()[0]!;
      const other = await generateKeyPair(false);
      const forged = await sign(other.privateKey, checkpointMessage(c));
      const r = await tamperAndVerify(k, () => k.sql.run('UPDATE checkpoints SET signature = ? WHERE device_seq = ?', [forged, c.deviceSeq]));
      expectBroken(r, 'checkpoints', c.seq, 'checkpoint_bad_signature');
    }));

  test('a malformed checkpoint signature is checkpoint_bad_signature, not a crash', () =>
    withSeeded(async (k) => {
      const c = k.checkpoints()[0]!;
      const r = await tamperAndVerify(k, () => k.sql.run("UPDATE checkpoints SET signature = 'zz' WHERE device_seq = ?", [c.deviceSeq]));
      expectBroken(r, 'checkpoints', c.seq, 'checkpoint_bad_signature');
    }));

  test('a checkpoint whose head hash was changed is checkpoint_hash_mismatch', () =>
    withSeeded(async (k) => {
      const c = k.checkpoints()[1]!;
      const r = await tamperAndVerify(k, () => k.sql.run('UPDATE checkpoints SET head_hash = ? WHERE device_seq = ?', ['0'.repeat(64), c.deviceSeq]));
      expectBroken(r, 'checkpoints', c.seq, 'checkpoint_hash_mismatch');
    }));

  test('a checkpoint moved to another seq is checkpoint_hash_mismatch', () =>
    withSeeded(async (k) => {
      const c = k.checkpoints()[0]!;
      const r = await tamperAndVerify(k, () => k.sql.run('UPDATE checkpoints SET device_seq = ? WHERE device_seq = ?', [c.deviceSeq - 1, c.deviceSeq]));
      expectBroken(r, 'checkpoints', c.seq - 1, 'checkpoint_hash_mismatch');
    }));

  test('a validly signed checkpoint by a key never registered in the log is checkpoint_unknown_key', () =>
    withSeeded(async (k) => {
      const head = k.status();
      const pair = await generateKeyPair(false);
      const keyId = keyIdOf(await publicKeyHexOf(pair.publicKey));
      const row = eventRow(k, head.headSeq - 1);
      const base = { seq: head.headSeq - 1, deviceSeq: Number(row['device_seq']), headHash: String(row['hash']), device: k.deviceId, keyId, audit: null };
      const signature = await sign(pair.privateKey, checkpointMessage(base));
      const r = await tamperAndVerify(k, () =>
        k.sql.run('INSERT INTO checkpoints (device_seq, head_hash, device, key_id, signature, at, format) VALUES (?,?,?,?,?,?,2)',
          [base.deviceSeq, base.headHash, base.device, keyId, signature, new Date(0).toISOString()]));
      expectBroken(r, 'checkpoints', base.seq, 'checkpoint_unknown_key');
    }));

  test('changing an audit entry breaks the audit chain at that entry', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => k.sql.run("UPDATE audit SET action = 'nothing.happened' WHERE seq = 2"));
      expectBroken(r, 'audit', 2, 'hash_mismatch');
    }));

  test('deleting an audit entry is missing_audit_entry at that entry', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => k.sql.run('DELETE FROM audit WHERE seq = 2'));
      expectBroken(r, 'audit', 2, 'missing_audit_entry');
    }));

  test('an audit entry re-hashed to point at another event is audit_event_mismatch', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        const a = rowToAudit(k.sql.get('SELECT * FROM audit WHERE seq = 2')!);
        const { hash: _h, ...rest } = { ...a, eventId: crypto.randomUUID() };
        k.sql.run('UPDATE audit SET event_id = ?, hash = ? WHERE seq = 2', [rest.eventId, hashAudit(rest)]);
        // Keep the chain consistent after it so only the pointer is wrong.
        let prev = hashAudit(rest);
        for (const row of k.sql.all('SELECT * FROM audit WHERE seq > 2 ORDER BY seq')) {
          const e = rowToAudit(row);
          const { hash: _x, ...body } = { ...e, prev };
          prev = hashAudit(body);
          k.sql.run('UPDATE audit SET prev = ?, hash = ? WHERE seq = ?', [body.prev, prev, e.seq]);
        }
      });
      expectBroken(r, 'audit', 2, 'audit_event_mismatch');
    }));

  test('the event chain is reported before the audit chain when both are broken', () =>
    withSeeded(async (k) => {
      const r = await tamperAndVerify(k, () => {
        k.sql.run("UPDATE audit SET action = 'x' WHERE seq = 1");
        k.sql.run("UPDATE events SET actor = 'x' WHERE seq = 15");
      });
      expectBroken(r, 'events', 15, 'hash_mismatch');
    }));
});

describe('verify across page boundaries', () => {
  // verify reads the log in pages of 2000 events and projections replay in pages of 1000; these
  // tests share one log of 2251 events (built once) and straddle those boundaries. They run in order:
  // the last one deletes an event.
  let k: Kernel;

  before(async () => {
    k = await memKernel();
    for (let b = 0; b < 5; b++) {
      k.commandBatch(Array.from({ length: 450 }, (_, i) => ({ type: 'workspace.create', payload: { name: `B${b}-${i}` }, idempotencyKey: newKey() })));
    }
    assert.equal(k.status().headSeq, 2251);
    unlock(k);
  });

  after(() => k.close());

  test('a log longer than one page verifies ok with the exact count', async () => {
    const r = await k.verify();
    assert.equal(r.ok, true);
    assert.equal(r.events, 2251);
    assert.equal(r.headHash, k.status().headHash);
  });

  test('rebuilding projections over more than one replay page is identical', () => {
    for (const p of k.rebuild().projections) assert.equal(p.identical, true, p.name);
    assert.equal((k.query('workspace.list', {}) as unknown[]).length, 2251, 'the 2250 created plus the default workspace');
  });

  test('a changed event on the second page is hash_mismatch at that seq', async () => {
    const original = eventRow(k, 2001)['actor']!;
    k.sql.run("UPDATE events SET actor = 'mallory' WHERE seq = 2001");
    const r = await k.verify();
    k.sql.run('UPDATE events SET actor = ? WHERE seq = 2001', [original]);
    expectBroken(r, 'events', 2001, 'hash_mismatch');
    assert.equal(r.events, 2000);
  });

  test('a deleted event at the end of the first page is missing_event at that seq', async () => {
    k.sql.run('DELETE FROM events WHERE seq = 2000');
    k.store.reloadHead();
    expectBroken(await k.verify(), 'events', 2000, 'missing_event');
  });
});

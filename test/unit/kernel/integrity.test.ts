/**
 * Integrity that holds up to a hostile look (an attacker with the database file), and never a
 * dead end: what a hostile review found, each detected, named and repairable.
 *
 * Invariants checked:
 * 1. Checkpoints come every N events even when commands come back to back through the API, and
 *    close() signs the tail.
 * 2. The checkpoints table is append-only; deleting checkpoints and re-hashing the history after
 *    them is named (the anchor beside the device key), at open and by verify.
 * 3. Cutting the end off the audit chain is named (the checkpoint signed the audit head).
 * 4. A duplicated event row, or a log whose tail is missing, opens READ-ONLY in recovery mode
 *    (integrity_error, not internal): commands are refused with `read_only`; verify, export and
 *    an explicit, audited repair work; a cut moves what it cuts aside and returns it first.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openKernel, openKingdom } from '../../../worker/node/index.ts';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';
import { hashEventWithPayloadJson } from '../../../worker/kernel/log/envelope.ts';
import { rowIdentity } from '../../../worker/kernel/log/event-store.ts';
import { createWorkspace, newKey, withTempDir, type Kernel } from '../../helpers/kernel.ts';

/** Raw SQL on the database file while no kernel holds it (the attacker's access). */
async function tamper(file: string, statements: string[] | ((run: (sql: string, bind?: unknown[]) => unknown[]) => void)): Promise<void> {
  const o = await fileAdapter(file).open();
  try {
    for (const t of ['events_append_only_update', 'events_append_only_delete', 'audit_append_only_update', 'audit_append_only_delete', 'checkpoints_append_only_update', 'checkpoints_append_only_delete']) {
      o.db.exec(`DROP TRIGGER IF EXISTS ${t}`);
    }
    const run = (sql: string, bind: unknown[] = []) => o.db.exec({ sql, bind: bind as never, rowMode: 'object', returnValue: 'resultRows' }) as unknown[];
    if (Array.isArray(statements)) for (const s of statements) run(s);
    else statements(run);
  } finally {
    await o.close();
  }
}

async function seededFile(dir: string, n = 30): Promise<string> {
  const file = join(dir, 'k.sqlite');
  const k = await openKernel({ storage: { file }, checkpointEvery: 10 });
  for (let i = 0; i < n; i++) {
    const w = createWorkspace(k, `W${i}`);
    if (i % 7 === 6) k.command({ type: 'workspace.archive', payload: { workspaceId: w }, idempotencyKey: newKey() });
    await k.verify();
  }
  await k.close();
  return file;
}

function isReadOnly(k: Kernel): void {
  assert.ok(k.recovery, 'recovery mode');
  assert.equal(k.recovery!.code, 'integrity_error');
  assert.throws(() => createWorkspace(k, 'Nope'), (e: unknown) => e instanceof KernelError && e.code === 'read_only');
}

describe('integrity under a hostile look', () => {
  test('1,000 awaited commands back to back get a checkpoint every N events', async () => {
    const api = await openKingdom({ storage: 'memory', checkpointEvery: 100, engine: false });
    try {
      for (let i = 0; i < 1000; i++) {
        const r = await api.command({ type: 'workspace.create', payload: { name: `W${i}` }, idempotencyKey: `w-${i}` });
        assert.equal(r.ok, true);
      }
      const cps = await api.query('checkpoints.list', { limit: 1000 });
      assert.equal(cps.ok, true);
      const seqs = (cps.ok ? (cps.value as { deviceSeq: number }[]) : []).map((c) => c.deviceSeq);
      assert.ok(seqs.length >= 5, `checkpoints at ${JSON.stringify(seqs)}`);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! - seqs[i - 1]! <= 200, `gap ${seqs[i - 1]} → ${seqs[i]}`);
    } finally {
      await api.close();
    }
  });

  test('close() signs the tail: at rest every event of the chain is covered', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.sqlite');
      const k = await openKernel({ storage: { file }, checkpointEvery: 100 });
      for (let i = 0; i < 7; i++) createWorkspace(k, `W${i}`);
      const head = k.status().deviceSeq;
      await k.close();
      const k2 = await openKernel({ storage: { file }, checkpointEvery: 100 });
      try {
        assert.equal(k2.status().lastCheckpointSeq, head);
      } finally {
        await k2.close();
      }
    }));

  test('the checkpoints table refuses UPDATE and DELETE', async () => {
    const k = await openKernel({ storage: 'memory' });
    try {
      k.command({ type: 'workspace.create', payload: { name: 'W' }, idempotencyKey: 'w' });
      await k.checkpoint();
      assert.equal(k.checkpoints().length, 1);
      assert.throws(() => k.sql.run('DELETE FROM checkpoints'), /append-only/);
      assert.throws(() => k.sql.run("UPDATE checkpoints SET signature = 'x'"), /append-only/);
    } finally {
      await k.close();
    }
  });

  test('deleting checkpoints and re-hashing the history after them is named, at open and by verify', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      await tamper(file, (run) => {
        run('DELETE FROM checkpoints WHERE device_seq >= 15');
        // Rewrite event 15 and re-hash everything after it, merge keys included: a consistent chain.
        const rows = run('SELECT * FROM events WHERE seq >= 15 ORDER BY seq') as Record<string, string | number>[];
        let prev = String(rows[0]!['prev']);
        for (const r of rows) {
          const payload = Number(r['seq']) === 15 ? String(r['payload']).replace('W', 'Z') : String(r['payload']);
          const id = { ...rowIdentity(r as never), prev };
          const hash = hashEventWithPayloadJson(id, payload);
          run('UPDATE events SET payload = ?, prev = ?, hash = ? WHERE seq = ?', [payload, prev, hash, r['seq']]);
          prev = hash;
        }
      });
      const k = await openKernel({ storage: { file } });
      try {
        isReadOnly(k);
        assert.equal(k.recovery!.details['reason'], 'checkpoint_missing');
        const v = await k.verify();
        assert.equal(v.ok, false);
        assert.equal(v.broken!.reason, 'checkpoint_missing');
        assert.ok(v.broken!.deviceSeq! >= 20, v.broken!.message);
      } finally {
        await k.close();
      }
    }));

  test('cutting the end off the audit chain is audit_truncated', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      await tamper(file, ['DELETE FROM audit WHERE seq = (SELECT MAX(seq) FROM audit)']);
      const k = await openKernel({ storage: { file } });
      try {
        const v = await k.verify();
        assert.equal(v.ok, false);
        assert.equal(v.broken!.reason, 'audit_truncated', v.broken!.message);
        assert.equal(v.broken!.chain, 'checkpoints');
        isReadOnly(k); // a failed verify stops writing: nothing more gets signed over it
      } finally {
        await k.close();
      }
    }));

  test('a duplicated event row opens read-only (integrity_error, not internal); repair cuts it aside', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      await tamper(file, (run) => {
        const last = (run('SELECT * FROM events ORDER BY seq DESC LIMIT 1') as Record<string, string | number>[])[0]!;
        // A copy of the newest workspace.created under fresh unique columns, projections behind it.
        const src = (run("SELECT * FROM events WHERE type = 'workspace.created' ORDER BY seq DESC LIMIT 1") as Record<string, string | number>[])[0]!;
        run(`INSERT INTO events (seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash)
             VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
          [Number(last['seq']) + 1, 'dup-id', src['device'], Number(last['device_seq']) + 1, 'ffffffffffff0000', src['stream'], 999, 0, src['type'], src['v'], src['at'], src['actor'], src['payload'], last['hash'], 'dup-hash']);
      });
      const k = await openKernel({ storage: { file } });
      try {
        isReadOnly(k);
        const exported = k.exportLog();
        assert.equal(exported.events.at(-1)!.id, 'dup-id', 'export works in recovery mode and holds everything');
        const r = await k.repair('cut');
        assert.equal(r.recovered, true, JSON.stringify(r.recovery));
        assert.equal(r.cut.events.length, 1);
        assert.equal(r.cut.events[0]!['id'], 'dup-id');
        assert.notEqual(r.device, r.previousDevice, 'the device continues under a new chain');
        const chain = k.exportChain(r.device);
        assert.deepEqual(chain.events.map((e) => e.type), ['device.key_registered', 'kernel.log_repaired'], 'its new key comes first, with the repair record');
        assert.equal((chain.events[0]!.payload as { keyId: string }).keyId, k.status().keyId);
        assert.deepEqual(chain.checkpoints.map((c) => [c.deviceSeq, c.keyId]), [[2, k.status().keyId]], 'the repair signs the new chain with the new key');
        assert.equal(k.sql.value('SELECT COUNT(*) FROM events_cut'), 1, 'what was cut is kept aside');
        assert.equal(k.readEvents(0, 10_000, { types: ['kernel.log_repaired'] }).length, 1);
        assert.ok(k.auditEntries().some((a) => a.action === 'kernel.log_repaired'));
        createWorkspace(k, 'Writable again');
        assert.equal((await k.verify()).ok, true);
      } finally {
        await k.close();
      }
      const again = await openKernel({ storage: { file } });
      try {
        assert.equal(again.recovery, null);
        assert.equal((await again.verify()).ok, true);
      } finally {
        await again.close();
      }
    }));

  test('a log whose tail is missing opens read-only and can be repaired (not a dead end)', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      await tamper(file, ['DELETE FROM events WHERE seq > (SELECT MAX(seq) - 5 FROM events)']);
      const k = await openKernel({ storage: { file } });
      try {
        isReadOnly(k);
        assert.ok((k.query('workspace.list', {}) as unknown[]).length > 0, 'queries work in recovery mode');
        const v = await k.verify();
        assert.equal(v.ok, false);
        const rebuilt = await k.repair('rebuild');
        assert.equal(rebuilt.recovered, false, 'rebuilding projections cannot bring the lost tail back');
        const r = await k.repair('cut');
        assert.equal(r.recovered, true, JSON.stringify(r.recovery));
        assert.equal((await k.verify()).ok, true);
        for (const p of k.rebuild().projections) assert.equal(p.identical, true, p.name);
      } finally {
        await k.close();
      }
    }));

  test('a damaged projection table is repaired by rebuild without touching the log', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      await tamper(file, ["UPDATE projections SET head_seq = head_seq + 50 WHERE name = 'workspaces'"]);
      const k = await openKernel({ storage: { file } });
      try {
        isReadOnly(k);
        const head = k.status().headSeq;
        const r = await k.repair('rebuild');
        assert.equal(r.recovered, true, JSON.stringify(r.recovery));
        assert.equal(r.cut.events.length, 0);
        assert.equal(k.status().headSeq, head + 1, 'only the repair record was appended');
        createWorkspace(k, 'OK');
      } finally {
        await k.close();
      }
    }));

  test('rebuild does not declare recovered a log that still fails verification; cut does, and live subscribers see what comes after', () =>
    withTempDir(async (dir) => {
      const file = await seededFile(dir);
      // A change under a checkpoint: the open check passes, verify does not.
      await tamper(file, ["UPDATE events SET payload = replace(payload, 'W3', 'X3') WHERE seq = (SELECT MIN(seq) FROM events WHERE payload LIKE '%W3%')"]);
      const k = await openKernel({ storage: { file } });
      try {
        assert.equal(k.recovery, null, 'the bounded open check does not read under the checkpoints');
        assert.equal((await k.verify()).ok, false);
        isReadOnly(k);
        const rebuilt = await k.repair('rebuild');
        assert.equal(rebuilt.recovered, false, JSON.stringify(rebuilt.recovery));
        const seen: number[] = [];
        k.subscribe((events) => { for (const e of events) seen.push(e.seq); });
        const r = await k.repair('cut');
        assert.equal(r.recovered, true, JSON.stringify(r.recovery));
        assert.ok(r.cut.events.length > 1);
        createWorkspace(k, 'After the cut');
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.ok(seen.includes(k.status().headSeq), `the new event (seq ${k.status().headSeq}) reached the live subscriber: ${JSON.stringify(seen)}`);
      } finally {
        await k.close();
      }
    }));
});


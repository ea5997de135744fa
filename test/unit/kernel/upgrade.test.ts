/**
 * Upgrade from format 1 (schema 2: one chain per database) to per-device chains (schema 3), on a
 * committed database file written by the format-1 kernel (test/fixtures/db/README.md).
 *
 * Invariants checked:
 * 1. Nothing is lost: every event (same seq, id, payload), projection, secret and the device key.
 * 2. verify covers every old event by the old rules too (legacy hashes, the old signed checkpoint)
 *    and the new chain; the upgrade is recorded as an audited kernel.log_upgraded event and signed.
 * 3. A format-1 log that was tampered with is refused (integrity_error naming the event), and the
 *    file is left at schema 2: history is never re-chained under new hashes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKernel } from '../../../worker/node/index.ts';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';
import { withTempDir } from '../../helpers/kernel.ts';

const FIXTURE = fileURLToPath(new URL('../../fixtures/db/format1.sqlite', import.meta.url));

function copyFixture(dir: string): string {
  const file = join(dir, 'kingdom.sqlite');
  copyFileSync(FIXTURE, file);
  copyFileSync(`${FIXTURE}.device-key.json`, `${file}.device-key.json`);
  return file;
}

describe('upgrade of a format-1 database', () => {
  test('opens with nothing lost; verify covers the old events by the old rules and the new chain', () =>
    withTempDir(async (dir) => {
      const file = copyFixture(dir);
      const k = await openKernel({ storage: { file } });
      try {
        const st = k.status();
        assert.equal(st.schemaVersion, 6);
        const old = k.readEvents(0, 12);
        assert.equal(old.length, 12);
        assert.deepEqual(old.map((e) => e.deviceSeq), old.map((e) => e.seq), 'the old events are the device chain\'s first 12 positions');
        assert.equal(old[0]!.type, 'device.key_registered');
        assert.equal(k.sql.value('SELECT COUNT(*) FROM events WHERE legacy_hash IS NOT NULL'), 12);
        // The device key file was kept: no second key is registered.
        assert.equal(k.readEvents(0, 100, { types: ['device.key_registered'] }).length, 1);
        const upgraded = k.readEvents(0, 100, { types: ['kernel.log_upgraded'] });
        assert.equal(upgraded.length, 1);
        assert.deepEqual((upgraded[0]!.payload as { legacyHead: { seq: number } }).legacyHead.seq, 12);
        assert.ok(k.auditEntries().some((a) => a.action === 'kernel.log_upgraded'), 'the upgrade is audited');

        const ws = k.query('workspace.list', { includeArchived: true }) as { name: string; status: string }[];
        assert.deepEqual(ws.map((w) => `${w.name}:${w.status}`).sort(), ['Acme Corp:active', 'Default:active', 'Old:archived']);
        const nodes = k.query('forest.node.list', {}) as { nodes?: { title: string }[] } | { title: string }[];
        const titles = (Array.isArray(nodes) ? nodes : nodes.nodes ?? []).map((n) => n.title).sort();
        assert.deepEqual(titles, ['Incident 1', 'Runbook']);
        // Everything from before workspaces lives in the default workspace (schema 4).
        assert.equal(k.sql.value("SELECT value FROM secrets WHERE name = 'API_TOKEN' AND workspace_id = '00000000-0000-4000-8000-000000000000'"), 'golden-secret-value');
        assert.equal(k.query('workflow.list', {}) !== null, true);

        const report = await k.verify();
        assert.equal(report.ok, true, JSON.stringify(report.broken));
        assert.ok(report.checkpoints >= 1);
        const cps = k.checkpoints();
        assert.ok(cps.some((c) => c.format === 1 && c.deviceSeq === 5), 'the format-1 checkpoint is kept and verified');
        for (const p of k.rebuild().projections) assert.equal(p.identical, true, p.name);
      } finally {
        await k.close();
      }
      // Reopening does not upgrade or record anything again.
      const again = await openKernel({ storage: { file } });
      try {
        assert.equal(again.readEvents(0, 100, { types: ['kernel.log_upgraded'] }).length, 1);
        assert.equal((await again.verify()).ok, true);
      } finally {
        await again.close();
      }
    }));

  test('the old checkpoint and the legacy hashes are really checked: a changed legacy hash is named', () =>
    withTempDir(async (dir) => {
      const file = copyFixture(dir);
      const k = await openKernel({ storage: { file } });
      try {
        k.sql.exec('DROP TRIGGER events_append_only_update');
        k.sql.run("UPDATE events SET legacy_hash = ? WHERE seq = 4", ['0'.repeat(64)]);
        const r = await k.verify();
        assert.equal(r.ok, false);
        assert.equal(r.broken!.seq, 4);
        assert.equal(r.broken!.reason, 'legacy_hash_mismatch');
      } finally {
        await k.close();
      }
    }));

  test('a tampered format-1 log is refused with integrity_error and left at schema 2', () =>
    withTempDir(async (dir) => {
      const file = copyFixture(dir);
      const o = await fileAdapter(file).open();
      o.db.exec('DROP TRIGGER events_append_only_update');
      o.db.exec({ sql: "UPDATE events SET payload = replace(payload, 'Rockets', 'Rackets') WHERE seq = 2" });
      await o.close();
      const bytes = readFileSync(file);
      await assert.rejects(openKernel({ storage: { file } }), (err: unknown) => {
        assert.ok(err instanceof KernelError);
        assert.equal(err.code, 'integrity_error');
        assert.equal(err.details['seq'], 2);
        assert.match(err.message, /event 2/);
        return true;
      });
      const o2 = await fileAdapter(file).open();
      assert.equal(Number(o2.db.selectValue('PRAGMA user_version')), 2);
      await o2.close();
      assert.ok(bytes.length > 0);
    }));
});

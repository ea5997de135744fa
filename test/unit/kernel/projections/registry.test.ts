/**
 * Projections (worker/kernel/projections/registry.ts).
 *
 * Invariants checked:
 * 1. After any sequence of commands, `rebuild()` reproduces every projection byte for byte
 *    (identical digests) and `digest()` is unchanged by it.
 * 2. Reopening a file-backed kernel replays nothing: projection heads equal the log head.
 * 3. A projection whose version changed is rebuilt on open; a projection added later is built
 *    from the whole log; one that was absent for a while catches up on what it missed.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { openKernel } from '../../../../worker/node/index.ts';
import { createProject, createWorkspace, memKernel, newKey, tableSha, withTempDir, type Kernel } from '../../../helpers/kernel.ts';
import { CommandDriver, opsArb } from '../../../helpers/command-model.ts';
import { THING_COMMAND, thingsProjection, v2Module } from '../../../helpers/thing-modules.ts';

function addThings(k: Kernel, labels: readonly string[]): void {
  for (const label of labels) k.command({ type: THING_COMMAND, payload: { label }, idempotencyKey: newKey() });
}

function assertHeadsAtLog(k: Kernel): void {
  const s = k.status();
  for (const p of s.projections) assert.equal(p.headSeq, s.headSeq, `projection ${p.name} head`);
}

describe('projection rebuild', () => {
  test('after random command sequences rebuild reports identical digests for every projection (property)', async () => {
    await fc.assert(
      fc.asyncProperty(opsArb(150, 300), async (ops) => {
        const k = await memKernel();
        try {
          const driver = new CommandDriver(k);
          for (const op of ops) driver.run(op);
          const before = k.digest();
          const report = k.rebuild();
          assert.deepEqual(report.projections.map((p) => p.name).sort(), Object.keys(before).sort());
          for (const p of report.projections) {
            assert.equal(p.identical, true, `projection ${p.name} differs after rebuild`);
            assert.equal(p.before, before[p.name]);
          }
          assert.deepEqual(k.digest(), before, 'digest() before == after');
          assertHeadsAtLog(k);
          const v = await k.verify();
          assert.equal(v.ok, true, JSON.stringify(v.broken));
        } finally {
          await k.close();
        }
      }),
      { numRuns: 6 },
    );
  });

  test('rebuild records an audited kernel.projections_rebuilt event with the digests', async () => {
    const k = await memKernel();
    try {
      createWorkspace(k, 'W');
      const report = k.rebuild();
      const e = k.readEvents(k.status().headSeq - 1, 1)[0]!;
      assert.equal(e.type, 'kernel.projections_rebuilt');
      assert.deepEqual(e.payload, { projections: report.projections.map((p) => ({ name: p.name, digest: p.after, identical: true })) });
      const entry = k.auditEntries().at(-1)!;
      assert.equal(entry.action, 'kernel.projections_rebuilt');
      assert.equal(entry.eventSeq, e.seq);
      assertHeadsAtLog(k);
    } finally {
      await k.close();
    }
  });

  test('rebuilding one named projection leaves the others untouched', async () => {
    const k = await memKernel();
    try {
      const w = createWorkspace(k, 'W');
      createProject(k, w, 'P');
      const report = k.rebuild(['projects']);
      assert.deepEqual(report.projections.map((p) => [p.name, p.identical]), [['projects', true]]);
    } finally {
      await k.close();
    }
  });

  test('rebuilding an unknown projection is refused with not_found', async () => {
    const k = await memKernel();
    try {
      assert.throws(() => k.rebuild(['nope']), (err: { code?: string }) => err.code === 'not_found');
    } finally {
      await k.close();
    }
  });

  test('digest changes when a projection table changes', async () => {
    const k = await memKernel();
    try {
      createWorkspace(k, 'W');
      const before = k.digest();
      createWorkspace(k, 'X');
      const after = k.digest();
      assert.notEqual(after['workspaces'], before['workspaces']);
      assert.equal(after['projects'], before['projects']);
    } finally {
      await k.close();
    }
  });
});

describe('projections across reopen', () => {
  test('reopening a file-backed kernel replays nothing and every projection head equals the log head', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      const w = createWorkspace(k1, 'W');
      createProject(k1, w, 'P');
      addThings(k1, ['a', 'b', 'c']);
      const digest = k1.digest();
      await k1.close();

      const p = thingsProjection();
      const k2 = await openKernel({ storage: { file }, modules: [v2Module([p])] });
      try {
        assert.equal(p.seen, 0, 'no event was re-applied on open');
        assertHeadsAtLog(k2);
        assert.deepEqual(k2.digest(), digest);
      } finally {
        await k2.close();
      }
    }));

  test('bumping a projection version rebuilds it on open', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection({ version: 1 })])] });
      addThings(k1, ['a', 'b', 'c']);
      const table = tableSha(k1, 'test_things');
      await k1.close();

      const p = thingsProjection({ version: 2 });
      const k2 = await openKernel({ storage: { file }, modules: [v2Module([p])] });
      try {
        assert.equal(p.seen, 3, 'the three thing events were replayed');
        assert.equal(k2.status().projections.find((x) => x.name === 'things')!.version, 2);
        assert.equal(tableSha(k2, 'test_things'), table);
        assertHeadsAtLog(k2);
      } finally {
        await k2.close();
      }
    }));

  test('a projection added later is built from the whole log on open', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file }, modules: [v2Module()] });
      addThings(k1, ['a', 'bb']);
      await k1.close();

      const p = thingsProjection();
      const k2 = await openKernel({ storage: { file }, modules: [v2Module([p])] });
      try {
        assert.equal(p.seen, 2);
        assert.deepEqual(k2.sql.all('SELECT label, size FROM test_things ORDER BY seq'), [{ label: 'a', size: 1 }, { label: 'bb', size: 2 }]);
        assertHeadsAtLog(k2);
        addThings(k2, ['ccc']);
        assert.equal(Number(k2.sql.value('SELECT COUNT(*) FROM test_things')), 3, 'then follows live events');
      } finally {
        await k2.close();
      }
    }));

  test('a projection that listens to every event type is built and kept up to date', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file }, modules: [v2Module()] });
      createWorkspace(k1, 'W');
      await k1.close();
      const p = thingsProjection({ eventTypes: 'all', name: 'all', table: 'test_all' });
      const k2 = await openKernel({ storage: { file }, modules: [v2Module([p])] });
      try {
        const head = k2.status().headSeq;
        assert.equal(p.seen, head, 'every stored event was applied once');
        createWorkspace(k2, 'X');
        assert.equal(p.seen, head + 1);
      } finally {
        await k2.close();
      }
    }));

  test('a projection that was absent while events were appended catches up when it returns', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      addThings(k1, ['a']);
      await k1.close();
      // Opened without the projection (e.g. its module disabled): these events never reach it.
      const k2 = await openKernel({ storage: { file }, modules: [v2Module()] });
      addThings(k2, ['bb', 'ccc']);
      await k2.close();

      const k3 = await openKernel({ storage: { file }, modules: [v2Module([thingsProjection()])] });
      try {
        const labels = k3.sql.all('SELECT label FROM test_things ORDER BY seq').map((r) => r['label']);
        assert.deepEqual(labels, ['a', 'bb', 'ccc'],
          'the projection missed the events appended while it was not loaded: its head_seq was advanced anyway');
        const report = k3.rebuild(['things']);
        assert.equal(report.projections[0]!.identical, true);
      } finally {
        await k3.close();
      }
    }));

  test('a projection head beyond the log head opens read-only with integrity_error (recovery mode)', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file } });
      k1.sql.exec('UPDATE projections SET head_seq = head_seq + 5');
      await k1.close();
      const k2 = await openKernel({ storage: { file } });
      try {
        assert.equal(k2.recovery?.code, 'integrity_error');
        assert.match(k2.recovery!.message, /projections/);
      } finally {
        await k2.close();
      }
    }));
});

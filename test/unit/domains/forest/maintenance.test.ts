/**
 * ForestIndexMaintenance (worker/domains/forest/maintenance.ts): merging the FTS5 index in quiet-time
 * steps leaves fewer segments, the same search answers, the same projection digests and a sound
 * index; it starts with the engine, and a database without the Forest index stops it silently.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ForestIndexMaintenance } from '../../../../worker/domains/forest/maintenance.ts';
import { Engine } from '../../../../worker/engine/engine.ts';
import { memKernel } from '../../../helpers/kernel.ts';
import { cmd, createNode, withMem } from './helpers.ts';

const segments = (k: { sql: { value(sql: string): unknown } }): number => Number(k.sql.value('SELECT count(DISTINCT segid) FROM forest_fts_idx'));

describe('Forest index maintenance', () => {
  test('merge steps leave fewer segments and change nothing a reader can see', () =>
    withMem(async (k) => {
      const ids: string[] = [];
      // One command per node: one FTS5 segment per transaction until automerge catches up.
      for (let i = 0; i < 120; i++) ids.push(createNode(k, `Note ${i} ${i % 3 ? 'deploy' : 'design'}`, `body ${i} about pipelines and canaries ${'x'.repeat(i % 9)}`, [`t${i % 4}`]));
      for (let i = 0; i < 120; i += 5) cmd(k, 'forest.node.update', { nodeId: ids[i]!, body: `rewritten ${i} deploy` });
      const names = ['forest_nodes', 'forest_links'];
      const digest = k.digest(names);
      const queries = ['deploy', 'design pipelines', 'canar*', '"about pipelines"', 'rewritten -design'].map((query) => k.query('forest.search', { query, limit: 100 }));
      const before = segments(k);
      assert.ok(before > 2, `a fragmented index to start with (${before} segments)`);

      const m = new ForestIndexMaintenance(k, { quietMs: 60_000 });
      await m.settle();
      m.stop();
      assert.ok(m.steps > 0, 'it did merge work');
      assert.ok(segments(k) < before, `${segments(k)} segments after, ${before} before`);
      assert.deepEqual(k.digest(names), digest);
      assert.deepEqual(['deploy', 'design pipelines', 'canar*', '"about pipelines"', 'rewritten -design'].map((query) => k.query('forest.search', { query, limit: 100 })), queries);
      k.sql.run("INSERT INTO forest_fts (forest_fts) VALUES ('integrity-check')");

      // Settled: another pass finds nothing to do.
      const again = new ForestIndexMaintenance(k, { quietMs: 60_000 });
      await again.settle();
      again.stop();
      assert.equal(again.steps, 0);
    }));

  test('the engine runs it after Forest writes, when it is quiet', () =>
    withMem(async (k) => {
      const engine = Engine.start(k);
      try {
        for (let i = 0; i < 60; i++) createNode(k, `Quiet ${i}`, `text ${i}`);
        const before = segments(k);
        for (let i = 0; i < 200 && segments(k) >= before; i++) await new Promise((r) => setTimeout(r, 25));
        assert.ok(segments(k) < before, 'merged without being asked');
        assert.ok(engine.forestIndex.steps > 0);
      } finally {
        engine.stop();
      }
    }));

  test('a database without the Forest index: it stops without an error', async () => {
    const k = await memKernel();
    const errors: unknown[] = [];
    try {
      k.sql.exec('DROP TABLE forest_fts');
      const m = new ForestIndexMaintenance(k, { quietMs: 60_000, onError: (e) => errors.push(e) });
      await m.settle();
      assert.equal(m.steps, 0);
      assert.deepEqual(errors, []);
    } finally {
      await k.close();
    }
  });
});

/**
 * Golden logs (STYLE.md §5): replay every `test/fixtures/logs/*.jsonl` into a fresh kernel and
 * require byte-identical projection tables. Regenerate a log only on purpose (see
 * test/helpers/golden-log.ts); a failure here means replaying old events now builds different
 * read models, i.e. a projection or an event changed without a version bump or an upcaster.
 *
 * Invariants checked:
 * 1. The committed log still verifies (canonical encoding and hashing are unchanged).
 * 2. The projections built from it equal the committed tables, row for row and by digest.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { GOLDEN_PROJECTIONS, kernelFromLog, LOGS_DIR, projectionTables, readGoldenLog } from '../../../helpers/golden-log.ts';

const logs = readdirSync(LOGS_DIR).filter((f) => f.endsWith('.jsonl')).map((f) => f.slice(0, -'.jsonl'.length));

describe('golden logs', () => {
  test('at least one golden log is committed', () => {
    assert.ok(logs.length > 0, `no *.jsonl in ${LOGS_DIR}`);
  });

  for (const name of logs) {
    test(`${name}: the committed log still verifies`, async () => {
      const { events, expected } = readGoldenLog(name);
      assert.equal(events.length, expected.events);
      const k = await kernelFromLog(events);
      try {
        const r = await k.verify();
        assert.equal(r.ok, true, JSON.stringify(r.broken));
        assert.equal(r.headSeq, k.status().headSeq);
        // Re-chained per device on open; the format-1 hash is kept and still verified.
        assert.equal(k.sql.value('SELECT legacy_hash FROM events WHERE seq = ?', [events.length]), events.at(-1)!.hash);
      } finally {
        await k.close();
      }
    });

    test(`${name}: replaying it builds byte-identical projection tables`, async () => {
      const { events, expected } = readGoldenLog(name);
      const k = await kernelFromLog(events);
      try {
        assert.deepEqual(projectionTables(k), expected.tables);
        assert.deepEqual(k.digest([...GOLDEN_PROJECTIONS]), expected.digests);
        for (const p of k.rebuild([...GOLDEN_PROJECTIONS]).projections) assert.equal(p.identical, true, p.name);
      } finally {
        await k.close();
      }
    });
  }
});

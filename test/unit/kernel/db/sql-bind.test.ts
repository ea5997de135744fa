/**
 * Sql/FastStmt binding while the WASM memory grows: SQLite copies every bound text or blob
 * (SQLITE_TRANSIENT), and that copy may grow the memory, which detaches every view of the old
 * buffer. Binding the next parameter must not use a stale view.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { memoryAdapter } from '../../../../worker/node/index.ts';
import { Sql } from '../../../../worker/kernel/db/sql.ts';

describe('Sql binding', () => {
  test('values bound after one that grows the WASM memory are bound intact', async () => {
    const o = await memoryAdapter().open();
    try {
      const sql = new Sql(o.db, o.sqlite3);
      sql.exec('CREATE TABLE t (a TEXT, b TEXT, c BLOB)');
      const grows = () => (o.sqlite3.wasm as unknown as { heap8u(): Uint8Array }).heap8u().byteLength;
      const before = grows();
      // Each large value's copy is a fresh malloc; a few of them outgrow the memory there is.
      for (let i = 0; i < 6; i++) {
        const big = String.fromCharCode(97 + i).repeat(4_000_000 + i);
        const blob = new Uint8Array([1, 2, 3, i]);
        sql.run('INSERT INTO t (a, b, c) VALUES (?, ?, ?)', [big, `after-${i}`, blob]);
      }
      assert.ok(grows() > before, 'the memory grew while binding');
      const rows = sql.all('SELECT length(a) AS n, b, c FROM t ORDER BY rowid');
      assert.deepEqual(rows.map((r) => [r['n'], r['b'], Array.from(r['c'] as Uint8Array)]),
        Array.from({ length: 6 }, (_, i) => [4_000_000 + i, `after-${i}`, [1, 2, 3, i]]));
      sql.dispose();
    } finally {
      await o.close();
    }
  });
});

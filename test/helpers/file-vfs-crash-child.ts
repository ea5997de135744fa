/**
 * Crash-test child for test/unit/db/file-vfs.test.ts.
 *
 * Usage: node --import tsx test/helpers/file-vfs-crash-child.ts <db-path> [max-rows]
 *
 * Opens <db-path> through the file adapter, then inserts rows one per transaction. After each
 * COMMIT has returned it writes the row id on its own line to stdout with a synchronous write, so
 * every id the parent reads was committed (synchronous=FULL) before it was printed. It stops by
 * itself after max-rows rows (default 300); the parent normally SIGKILLs it long before.
 *
 * Invariants:
 * 1. An id is printed only after its transaction committed; nothing is printed speculatively.
 * 2. The loop is bounded; the process always terminates on its own.
 */
import { writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileAdapter } from '../../worker/node/file-adapter.ts';

const [dbPath, maxRowsArg] = process.argv.slice(2);
if (!dbPath) {
  process.stderr.write('usage: file-vfs-crash-child.ts <db-path> [max-rows]\n');
  process.exit(2);
}
const maxRows = Number(maxRowsArg ?? 300);

const opened = await fileAdapter(dbPath).open();
const { db } = opened;
// Checkpoint often so kills also land in the middle of checkpoints, not only WAL appends.
db.exec('PRAGMA wal_autocheckpoint=16');
db.exec('CREATE TABLE IF NOT EXISTS crash_rows (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, digest TEXT NOT NULL)');
writeSync(1, 'ready\n');

const insert = db.prepare('INSERT INTO crash_rows (payload, digest) VALUES (?, ?) RETURNING id');
try {
  for (let i = 0; i < maxRows; i++) {
    // 0.5–6 KB payloads: some rows spill to overflow pages.
    const payload = randomBytes(512 + Math.floor(Math.random() * 5632));
    const digest = payload.subarray(0, 16).toString('hex') + ':' + payload.length;
    db.exec('BEGIN IMMEDIATE');
    insert.bind([payload, digest]);
    insert.step();
    const id = Number(insert.get(0));
    insert.reset(true);
    db.exec('COMMIT');
    writeSync(1, `${id}\n`); // Invariant 1: only after COMMIT returned.
  }
} finally {
  insert.finalize();
}
await opened.close();
writeSync(1, 'done\n');

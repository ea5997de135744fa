/**
 * The Node file VFS (worker/node/file-vfs.ts) and the file/memory adapters.
 *
 * Run: node --import tsx --test test/unit/db/file-vfs.test.ts
 *
 * Invariants checked:
 * 1. Committed data survives close/reopen (a SIGKILL of the writing process: file-vfs-crash.test.ts,
 *    in the slow suite).
 * 2. The database really runs in WAL mode with exclusive locking.
 * 3. A second owner of the same file is refused (`storage_locked`) while a live one holds it; a
 *    lock left by a dead process is reclaimed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { memoryAdapter } from '../../../worker/kernel/db/memory-adapter.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';


function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kingdom-file-vfs-'));
}

/** A pid that certainly belonged to a process which has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.ok(r.pid, 'spawned a short-lived process');
  return r.pid;
}

test('create, insert, close, reopen keeps the data and releases the lock', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'k.db');
    const adapter = fileAdapter(path);
    assert.equal(adapter.kind, 'file');
    const a = await adapter.open();
    assert.equal(a.durable, true);
    assert.ok(existsSync(`${path}.lock`), 'lock file exists while open');
    a.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    a.db.exec({ sql: 'INSERT INTO t (v) VALUES (?), (?), (?)', bind: ['one', 'two', 'three'] });
    assert.ok(a.sizeBytes() > 0);
    await a.close();
    await a.close(); // idempotent
    assert.equal(existsSync(`${path}.lock`), false, 'lock file removed by close');

    const b = await adapter.open();
    assert.deepEqual(b.db.selectValues('SELECT v FROM t ORDER BY id'), ['one', 'two', 'three']);
    assert.equal(b.db.selectValue('PRAGMA foreign_keys'), 1);
    assert.equal(b.db.selectValue('PRAGMA synchronous'), 2); // FULL
    // The db's VFS supplies the clock (xCurrentTimeInt64).
    const now = Number(b.db.selectValue("SELECT unixepoch('now')"));
    assert.ok(Math.abs(now - Date.now() / 1000) < 5, `VFS clock ${now} is close to Date.now()`);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WAL is active with exclusive locking', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'wal.db');
    const a = await fileAdapter(path).open();
    assert.equal(a.db.selectValue('PRAGMA journal_mode'), 'wal');
    assert.equal(a.db.selectValue('PRAGMA locking_mode'), 'exclusive');
    a.db.exec('CREATE TABLE t (x)');
    a.db.exec('INSERT INTO t VALUES (1)');
    assert.ok(existsSync(`${path}-wal`), '-wal file exists after a write');
    assert.ok(a.sizeBytes() > 0);
    const ckpt = a.db.selectArray('PRAGMA wal_checkpoint(TRUNCATE)');
    assert.equal(ckpt?.[0], 0, 'checkpoint not busy');
    await a.close();
    assert.equal(existsSync(`${path}-wal`), false, 'WAL checkpointed and removed on clean close');
    const b = await fileAdapter(path).open();
    assert.equal(b.db.selectValue('SELECT x FROM t'), 1);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a transaction of 10,000 rows round-trips', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'bulk.db');
    const a = await fileAdapter(path).open();
    a.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    a.db.transaction((db) => {
      const stmt = db.prepare('INSERT INTO t (id, v) VALUES (?, ?)');
      try {
        for (let i = 1; i <= 10_000; i++) stmt.bind([i, `row-${i}`]).stepReset();
      } finally {
        stmt.finalize();
      }
    });
    await a.close();
    const b = await fileAdapter(path).open();
    assert.equal(b.db.selectValue('SELECT count(*) FROM t'), 10_000);
    assert.equal(b.db.selectValue('SELECT v FROM t WHERE id = 7777'), 'row-7777');
    assert.equal(b.db.selectValue('SELECT sum(id) FROM t'), (10_000 * 10_001) / 2);
    assert.equal(b.db.selectValue('PRAGMA integrity_check'), 'ok');
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a rolled-back transaction leaves nothing behind', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'rollback.db');
    const a = await fileAdapter(path).open();
    a.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    a.db.exec("INSERT INTO t (v) VALUES ('kept')");
    assert.throws(() =>
      a.db.transaction((db) => {
        for (let i = 0; i < 500; i++) db.exec({ sql: 'INSERT INTO t (v) VALUES (?)', bind: [`gone-${i}`] });
        throw new Error('abort on purpose');
      }),
    /abort on purpose/);
    a.db.exec('BEGIN');
    a.db.exec("INSERT INTO t (v) VALUES ('also gone')");
    a.db.exec('ROLLBACK');
    assert.deepEqual(a.db.selectValues('SELECT v FROM t'), ['kept']);
    await a.close();
    const b = await fileAdapter(path).open();
    assert.deepEqual(b.db.selectValues('SELECT v FROM t'), ['kept']);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 5 MB blob round-trips', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'blob.db');
    const blob = new Uint8Array(randomBytes(5 * 1024 * 1024));
    const a = await fileAdapter(path).open();
    a.db.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
    a.db.exec({ sql: 'INSERT INTO b (id, data) VALUES (1, ?)', bind: [blob] });
    await a.close();
    const b = await fileAdapter(path).open();
    const got = b.db.selectValue('SELECT data FROM b WHERE id = 1');
    assert.ok(got instanceof Uint8Array);
    assert.equal(got.length, blob.length);
    assert.ok(Buffer.from(got).equals(Buffer.from(blob)), 'blob bytes identical');
    assert.ok(b.sizeBytes() >= blob.length);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a second open while the first is open fails with storage_locked', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'busy.db');
    const a = await fileAdapter(path).open();
    a.db.exec('CREATE TABLE t (x)');
    await assert.rejects(fileAdapter(path).open(), (err: unknown) => {
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'storage_locked');
      assert.match(err.message, /locked/i);
      assert.equal(err.details['pid'], process.pid);
      return true;
    });
    // The failed open must not have released the first owner's lock.
    assert.ok(existsSync(`${path}.lock`));
    a.db.exec('INSERT INTO t VALUES (1)');
    await a.close();
    const b = await fileAdapter(path).open();
    assert.equal(b.db.selectValue('SELECT count(*) FROM t'), 1);
    await b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a lock file held by another live process refuses the open', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'other.db');
    writeFileSync(`${path}.lock`, `${process.ppid}\n`); // our parent is certainly alive
    await assert.rejects(fileAdapter(path).open(), (err: unknown) => {
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'storage_locked');
      assert.equal(err.details['pid'], process.ppid);
      return true;
    });
    assert.equal(existsSync(path), false, 'the db file was not created by the refused open');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale lock file with a dead pid is reclaimed', async () => {
  const dir = tempDir();
  try {
    const path = join(dir, 'stale.db');
    const a = await fileAdapter(path).open();
    a.db.exec('CREATE TABLE t (x)');
    a.db.exec('INSERT INTO t VALUES (42)');
    await a.close();
    writeFileSync(`${path}.lock`, `${deadPid()}\n`);
    const b = await fileAdapter(path).open();
    assert.equal(b.db.selectValue('SELECT x FROM t'), 42);
    await b.close();
    assert.equal(existsSync(`${path}.lock`), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('temp files (temp_store=FILE) work and leave nothing behind', async () => {
  const dir = tempDir();
  // A private TMPDIR for this process (os.tmpdir() reads it on every call): test files run in
  // parallel, and another process's temp files in the shared tmpdir must not count as leftovers.
  const savedTmp = process.env['TMPDIR'];
  process.env['TMPDIR'] = join(dir, 'tmp');
  mkdirSync(join(dir, 'tmp'));
  try {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('kingdom-sqlite-')));
    assert.equal(tmpdir(), join(dir, 'tmp'));
    const a = await fileAdapter(join(dir, 'temp.db')).open();
    a.db.exec('PRAGMA temp_store=FILE');
    a.db.exec('PRAGMA temp.cache_size=8'); // tiny cache: the temp db must spill to its file
    a.db.exec(
      'CREATE TEMP TABLE scratch AS WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 20000) ' +
        'SELECT v, randomblob(200) AS r FROM s',
    );
    assert.equal(a.db.selectValue('SELECT count(DISTINCT r) FROM scratch'), 20000);
    await a.close();
    const leftovers = readdirSync(tmpdir()).filter((n) => n.startsWith('kingdom-sqlite-') && !before.has(n));
    assert.deepEqual(leftovers, []);
  } finally {
    if (savedTmp === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = savedTmp;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('memory adapter: not durable, sized from page_count', async () => {
  const adapter = memoryAdapter();
  assert.equal(adapter.kind, 'memory');
  const m = await adapter.open();
  assert.equal(m.durable, false);
  assert.equal(m.db.selectValue('PRAGMA foreign_keys'), 1);
  m.db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  assert.ok(m.sizeBytes() > 0);
  await m.close();
  await m.close();
});

test('latency: 200 single-row commits with synchronous=FULL', async (t) => {
  const dir = tempDir();
  try {
    const a = await fileAdapter(join(dir, 'latency.db')).open();
    a.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const stmt = a.db.prepare('INSERT INTO t (v) VALUES (?)');
    const N = 200;
    const started = performance.now();
    try {
      for (let i = 0; i < N; i++) {
        a.db.exec('BEGIN IMMEDIATE');
        stmt.bind([`v${i}`]).stepReset();
        a.db.exec('COMMIT');
      }
    } finally {
      stmt.finalize();
    }
    const perCommitMs = (performance.now() - started) / N;
    t.diagnostic(`per-commit latency (synchronous=FULL, WAL): ${perCommitMs.toFixed(3)} ms`);
    assert.equal(a.db.selectValue('SELECT count(*) FROM t'), N);
    await a.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

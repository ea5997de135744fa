/**
 * The Node file VFS (worker/node/file-vfs.ts) and the file/memory adapters.
 *
 * Run: node --import tsx --test test/unit/db/file-vfs.test.ts
 *
 * Invariants checked:
 * 1. Committed data survives close/reopen and a SIGKILL of the writing process (every row the
 *    child acknowledged after COMMIT is present, and `integrity_check` is ok).
 * 2. The database really runs in WAL mode with exclusive locking.
 * 3. A second owner of the same file is refused (`storage_locked`) while a live one holds it; a
 *    lock left by a dead process is reclaimed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { memoryAdapter } from '../../../worker/kernel/db/memory-adapter.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRASH_CHILD = fileURLToPath(new URL('../../helpers/file-vfs-crash-child.ts', import.meta.url));

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
  try {
    const before = new Set(readdirSync(tmpdir()).filter((n) => n.startsWith('kingdom-sqlite-')));
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

interface ChildRun {
  acked: number[];
  killedAfter: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the crash child against `path` and SIGKILL it once `killAfter` ids were acknowledged. */
function runCrashChild(path: string, killAfter: number, maxRows: number): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_CHILD, path, String(maxRows)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let killedAfter = -1;
    let pending = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash child timed out; stderr: ${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\d+$/.test(line)) acked.push(Number(line));
      }
      if (killedAfter < 0 && acked.length >= killAfter) {
        killedAfter = acked.length;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolvePromise({ acked, killedAfter, signal, stderr });
    });
  });
}

test('SIGKILL mid-write: every acknowledged commit survives and the file is intact', async (t) => {
  const dir = tempDir();
  const MAX_ROWS = 300;
  try {
    const path = join(dir, 'crash.db');
    let expectedMin = 0;
    for (let round = 1; round <= 5; round++) {
      const killAfter = 1 + Math.floor(Math.random() * 200);
      const run = await runCrashChild(path, killAfter, MAX_ROWS);
      assert.equal(run.stderr, '', `child wrote to stderr in round ${round}`);
      t.diagnostic(
        `round ${round}: kill after ${killAfter}, acked ${run.acked.length}, signal ${String(run.signal)}`,
      );
      assert.equal(run.signal, 'SIGKILL', `round ${round}: child was killed, not finished`);
      assert.ok(run.acked.length >= killAfter);
      assert.ok(existsSync(`${path}-wal`), `round ${round}: the reopen below must recover a WAL`);

      // Reopen in this process: reclaims the dead child's lock and recovers the WAL.
      const db = await fileAdapter(path).open();
      try {
        assert.equal(db.db.selectValue('PRAGMA integrity_check'), 'ok', `round ${round}: integrity`);
        const present = new Set(db.db.selectValues('SELECT id FROM crash_rows').map(Number));
        const missing = run.acked.filter((id) => !present.has(id));
        assert.deepEqual(missing, [], `round ${round}: acknowledged rows missing after SIGKILL`);
        assert.ok(present.size >= expectedMin + run.acked.length, `round ${round}: no earlier rows lost`);
        expectedMin = present.size;
        const badDigests = db.db.selectValue(
          "SELECT count(*) FROM crash_rows WHERE digest <> lower(hex(substr(payload, 1, 16))) || ':' || length(payload)",
        );
        assert.equal(badDigests, 0, `round ${round}: payloads intact`);
      } finally {
        await db.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

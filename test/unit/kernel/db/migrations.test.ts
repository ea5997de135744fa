/**
 * Schema migrations (worker/kernel/db/migrations.ts).
 *
 * Invariants checked:
 * 1. A fresh database ends at SCHEMA_VERSION (4) in `PRAGMA user_version` and `meta`.
 * 2. A database with a newer user_version is refused with `schema_too_new` and its file is left
 *    byte-for-byte unchanged (and released).
 * 3. A failing migration is `migration_failed` and leaves the previous version intact.
 * 4. Triggers make `events` and `audit` append-only.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openKernel } from '../../../../worker/node/index.ts';
import { fileAdapter } from '../../../../worker/node/file-adapter.ts';
import { memoryAdapter } from '../../../../worker/kernel/db/memory-adapter.ts';
import { migrate, MIGRATIONS, SCHEMA_VERSION, type Migration } from '../../../../worker/kernel/db/migrations.ts';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { catchError, catchErrorAsync, createWorkspace, memKernel, newKey, withTempDir } from '../../../helpers/kernel.ts';

/** Write a database file whose user_version is 99, through the raw sqlite handle, then close it. */
async function writeNewerDb(file: string, journalMode: 'wal' | 'delete'): Promise<void> {
  const o = await fileAdapter(file).open();
  try {
    o.db.exec('CREATE TABLE from_the_future (x TEXT)');
    o.db.exec("INSERT INTO from_the_future VALUES ('hello')");
    o.db.exec('PRAGMA user_version = 99');
    if (journalMode === 'delete') assert.equal(o.db.selectValue('PRAGMA journal_mode=DELETE'), 'delete');
  } finally {
    await o.close();
  }
}

async function expectRefusedUnchanged(dir: string, file: string): Promise<void> {
  const before = readFileSync(file);
  const filesBefore = readdirSync(dir).sort();
  const err = await catchErrorAsync(() => openKernel({ storage: { file } }));
  assert.ok(err instanceof KernelError, String(err));
  assert.equal(err.code, 'schema_too_new');
  assert.equal(err.details['found'], 99);
  assert.equal(err.details['supported'], SCHEMA_VERSION);
  assert.ok(err.message.includes('99'));
  const after = readFileSync(file);
  const diff = [...before.keys()].filter((i) => before[i] !== after[i]).slice(0, 10);
  assert.ok(before.equals(after), `database file changed by the refused open (bytes differ at offsets ${diff.join(', ')})`);
  // Also shows the refused open released the database: its `<db>.lock` file is gone.
  assert.deepEqual(readdirSync(dir).sort(), filesBefore, 'no files were created (no -wal, no lock, no key file) or left behind');
}

describe('migrations', () => {
  test('a fresh database gets schema version 6 in user_version and meta', async () => {
    assert.equal(SCHEMA_VERSION, 6);
    const k = await memKernel();
    try {
      assert.equal(k.sql.value('PRAGMA user_version'), 6);
      assert.equal(k.sql.value("SELECT value FROM meta WHERE key = 'schema_version'"), '6');
      assert.equal(typeof k.sql.value("SELECT value FROM meta WHERE key = 'app_version'"), 'string');
      assert.equal(k.status().schemaVersion, 6);
      const tables = k.sql.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map((r) => r['name']);
      for (const t of ['audit', 'blobs', 'checkpoints', 'events', 'idempotency', 'meta', 'projections', 'secrets']) assert.ok(tables.includes(t), t);
    } finally {
      await k.close();
    }
  });

  test('migrating an up-to-date database changes nothing and reports its version', async () => {
    const o = await memoryAdapter().open();
    try {
      assert.equal(migrate(o.db, 'test'), 0);
      const schema = o.db.selectValues('SELECT sql FROM sqlite_master ORDER BY name');
      assert.equal(migrate(o.db, 'test'), 6);
      assert.deepEqual(o.db.selectValues('SELECT sql FROM sqlite_master ORDER BY name'), schema);
    } finally {
      await o.close();
    }
  });

  test('a version-1 database is upgraded to the latest version in place, keeping its rows', async () => {
    const o = await memoryAdapter().open();
    try {
      assert.equal(migrate(o.db, 'test', MIGRATIONS.slice(0, 1)), 0);
      o.db.exec("INSERT INTO meta (key, value) VALUES ('kept', 'yes')");
      assert.equal(migrate(o.db, 'test'), 1, 'found version 1');
      assert.equal(Number(o.db.selectValue('PRAGMA user_version')), 6);
      assert.equal(o.db.selectValue("SELECT value FROM meta WHERE key = 'kept'"), 'yes');
      assert.equal(o.db.selectValue("SELECT count(*) FROM sqlite_master WHERE name IN ('blobs', 'secrets')"), 2);
    } finally {
      await o.close();
    }
  });

  test('reopening a file database keeps schema version 6 and its data', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'k.db');
      const k1 = await openKernel({ storage: { file } });
      createWorkspace(k1, 'Kept');
      await k1.close();
      const k2 = await openKernel({ storage: { file } });
      try {
        assert.equal(k2.sql.value('PRAGMA user_version'), 6);
        assert.equal((k2.query('workspace.list', {}) as { name: string }[])[1]!.name, 'Kept', 'after the default workspace');
      } finally {
        await k2.close();
      }
    }));

  test('a WAL database with user_version 99 is refused with schema_too_new and left byte-for-byte unchanged', () =>
    withTempDir(async (dir) => {
      const file = join(dir, 'future.db');
      await writeNewerDb(file, 'wal');
      await expectRefusedUnchanged(dir, file);
      assert.equal(existsSync(`${file}.device-key.json`), false);
    }));

  test('a rollback-journal database with user_version 99 is refused with schema_too_new and left byte-for-byte unchanged', () =>
    withTempDir(async (dir) => {
      // e.g. a file made with the sqlite3 shell: the refused open must not switch it to WAL first.
      const file = join(dir, 'future.db');
      await writeNewerDb(file, 'delete');
      await expectRefusedUnchanged(dir, file);
    }));

  test('a failing migration is migration_failed and leaves the previous version intact', async () => {
    const o = await memoryAdapter().open();
    try {
      migrate(o.db, 'test');
      const broken: Migration[] = [...MIGRATIONS, {
        version: SCHEMA_VERSION + 1,
        description: 'broken on purpose',
        sql: 'CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;',
      }];
      const err = catchError(() => migrate(o.db, 'test', broken));
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'migration_failed');
      assert.equal(err.details['version'], SCHEMA_VERSION + 1);
      assert.equal(o.db.selectValue('PRAGMA user_version'), SCHEMA_VERSION);
      assert.equal(o.db.selectValue("SELECT value FROM meta WHERE key = 'schema_version'"), String(SCHEMA_VERSION));
      assert.equal(o.db.selectValue("SELECT COUNT(*) FROM sqlite_master WHERE name = 'half_done'"), 0, 'the partial migration was rolled back');
    } finally {
      await o.close();
    }
  });

  test('a later migration runs on an older database and bumps user_version', async () => {
    const o = await memoryAdapter().open();
    try {
      migrate(o.db, 'test');
      const next: Migration[] = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, description: 'add a table', sql: 'CREATE TABLE added (x INTEGER);' }];
      assert.equal(migrate(o.db, 'test', next), SCHEMA_VERSION);
      assert.equal(o.db.selectValue('PRAGMA user_version'), SCHEMA_VERSION + 1);
      assert.equal(o.db.selectValue("SELECT value FROM meta WHERE key = 'schema_version'"), String(SCHEMA_VERSION + 1));
    } finally {
      await o.close();
    }
  });
});

describe('append-only triggers', () => {
  for (const [label, sql] of [
    ['UPDATE on events', "UPDATE events SET actor = 'mallory' WHERE seq = 1"],
    ['DELETE on events', 'DELETE FROM events WHERE seq = 1'],
    ['UPDATE on audit', "UPDATE audit SET action = 'x' WHERE seq = 1"],
    ['DELETE on audit', 'DELETE FROM audit WHERE seq = 1'],
  ] as const) {
    test(`${label} is aborted by a trigger`, async () => {
      const k = await memKernel();
      try {
        k.command({ type: 'workspace.archive', payload: { workspaceId: createWorkspace(k, 'W') }, idempotencyKey: newKey() });
        const before = [k.sql.all('SELECT * FROM events'), k.sql.all('SELECT * FROM audit')];
        assert.throws(() => k.sql.run(sql), /append-only/);
        assert.deepEqual([k.sql.all('SELECT * FROM events'), k.sql.all('SELECT * FROM audit')], before);
        assert.equal((await k.verify()).ok, true);
      } finally {
        await k.close();
      }
    });
  }
});

/**
 * The storage adapter contract: the same cases for every `StorageAdapter` (memory and file in
 * Node, OPFS in a Chromium worker), in the manner of automerge-repo's `runStorageAdapterTests`.
 *
 * Framework-free on purpose: no node:assert, no node:test, nothing Node-only, so a browser worker
 * can import it and run the cases itself. Each case is `{ name, run }`; `skip` carries the reason
 * a case does not apply to an adapter (so every runner reports it instead of silently dropping it).
 *
 * Contract for `makeAdapter`: every call returns an adapter for a fresh, empty database; calling
 * `open()` again on the same adapter object reopens that same database (when `opts.reopen`).
 * Cases run one at a time (the OPFS pool is module-level: never open two cases at once).
 */
import type { OpenedDatabase, StorageAdapter } from '../../worker/kernel/db/adapter.ts';
import { migrate, SCHEMA_VERSION } from '../../worker/kernel/db/migrations.ts';
import { Kernel } from '../../worker/kernel/kernel.ts';
import { memoryKeyStore, type KeyStore } from '../../worker/kernel/log/keys.ts';
import { DEFAULT_MODULES } from '../../worker/modules.ts';
import { DEFAULT_WORKSPACE_ID } from '../../worker/domains/workspaces/scope.ts';

export interface ContractOptions {
  /** Committed transactions survive a crash (WAL + exclusive locking expected). */
  readonly durable: boolean;
  /** `open()` on the same adapter object again sees the same database. */
  readonly reopen: boolean;
}

export interface ContractCase {
  readonly name: string;
  /** Why the case does not apply to this adapter; `run` is then a no-op. */
  readonly skip?: string;
  readonly run: () => Promise<void>;
}

export class ContractAssertionError extends Error {
  override readonly name = 'ContractAssertionError';
}

export interface Assert {
  ok(cond: unknown, message: string): asserts cond;
  equal<T>(actual: T, expected: T, message: string): void;
  deepEqual(actual: unknown, expected: unknown, message: string): void;
  rejectsWithCode(fn: () => unknown, code: string, message: string): Promise<Error & { code?: string }>;
}

/** The tiny local assert: enough to state the contract, portable to any JS realm. */
export const assert: Assert = {
  ok(cond: unknown, message: string): asserts cond {
    if (!cond) throw new ContractAssertionError(message);
  },
  equal<T>(actual: T, expected: T, message: string): void {
    if (!Object.is(actual, expected)) {
      throw new ContractAssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`);
    }
  },
  deepEqual(actual: unknown, expected: unknown, message: string): void {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    if (a !== e) throw new ContractAssertionError(`${message}:\n  expected ${clip(e)}\n  got      ${clip(a)}`);
  },
  /** `fn` must reject (or throw) with an error whose `code` is `code`. Returns that error. */
  async rejectsWithCode(fn: () => unknown, code: string, message: string): Promise<Error & { code?: string }> {
    let caught: unknown;
    try {
      await fn();
    } catch (err) {
      caught = err;
    }
    if (caught === undefined) throw new ContractAssertionError(`${message}: expected a ${code} error, but it succeeded`);
    const got = (caught as { code?: unknown }).code;
    if (got !== code) {
      throw new ContractAssertionError(`${message}: expected error code ${code}, got ${String(got)} (${errText(caught)})`);
    }
    return caught as Error & { code?: string };
  },
};

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function clip(s: string | undefined): string {
  const t = s ?? 'undefined';
  return t.length > 600 ? `${t.slice(0, 600)}…` : t;
}

function errText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Open, run, and close even when `fn` throws (so the next case can open the storage). */
async function withOpen<T>(adapter: StorageAdapter, fn: (o: OpenedDatabase) => T | Promise<T>): Promise<T> {
  const o = await adapter.open();
  try {
    return await fn(o);
  } finally {
    await o.close();
  }
}

async function withKernel<T>(adapter: StorageAdapter, keys: KeyStore, fn: (k: Kernel) => T | Promise<T>): Promise<T> {
  const k = await Kernel.open({ storage: adapter, keys, modules: DEFAULT_MODULES });
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

function tableNames(o: OpenedDatabase): string[] {
  return o.db.selectValues("SELECT name FROM sqlite_master WHERE type IN ('table','index','trigger') ORDER BY name").map(String);
}

let keyCounter = 0;
function newKey(prefix: string): string {
  keyCounter++;
  return `${prefix}-${Date.now().toString(36)}-${keyCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

function createWorkspace(k: Kernel, name: string): string {
  const r = k.command({ type: 'workspace.create', payload: { name }, idempotencyKey: newKey('ws') });
  const id = (r.value as { workspaceId?: unknown }).workspaceId;
  assert.ok(typeof id === 'string', `workspace.create returned a workspaceId (got ${JSON.stringify(r.value)})`);
  return id;
}

export function storageContract(makeAdapter: () => StorageAdapter, opts: ContractOptions): ContractCase[] {
  const needsDurable = opts.durable && opts.reopen ? undefined : 'only durable, reopenable adapters keep data across close';

  const cases: ContractCase[] = [
    {
      name: 'open gives a working oo1 database',
      run: async () => {
        const adapter = makeAdapter();
        assert.ok(['memory', 'file', 'opfs'].includes(adapter.kind), `adapter.kind is known (got ${adapter.kind})`);
        assert.ok(adapter.location.length > 0, 'adapter.location is not empty');
        await withOpen(adapter, (o) => {
          assert.equal(o.durable, opts.durable, 'opened.durable matches the adapter class');
          assert.equal(Number(o.db.selectValue('SELECT 1 + 1')), 2, 'SELECT 1 + 1');
          assert.ok(typeof o.sqlite3.version.libVersion === 'string', 'opened.sqlite3 is the sqlite3 module');
          o.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT');
          o.db.exec({ sql: 'INSERT INTO t (v) VALUES (?), (?)', bind: ['a', 'b'] });
          assert.deepEqual(o.db.selectValues('SELECT v FROM t ORDER BY id'), ['a', 'b'], 'rows read back');
          assert.equal(Number(o.db.selectValue('PRAGMA foreign_keys')), 1, 'foreign_keys is on');
          assert.equal(String(o.db.selectValue('PRAGMA integrity_check')), 'ok', 'integrity_check');
        });
      },
    },
    {
      name: 'durable adapters report WAL journal mode and exclusive locking',
      run: async () => {
        await withOpen(makeAdapter(), (o) => {
          if (!opts.durable) {
            assert.equal(o.durable, false, 'a non-durable adapter says so');
            return;
          }
          assert.equal(String(o.db.selectValue('PRAGMA journal_mode')).toLowerCase(), 'wal', 'journal_mode');
          assert.equal(String(o.db.selectValue('PRAGMA locking_mode')).toLowerCase(), 'exclusive', 'locking_mode');
          assert.equal(Number(o.db.selectValue('PRAGMA synchronous')), 2, 'synchronous is FULL (2)');
          // Still WAL after a write transaction (sahpool without EXCLUSIVE silently falls back).
          o.db.exec('CREATE TABLE t (v TEXT); INSERT INTO t VALUES (1)');
          assert.equal(String(o.db.selectValue('PRAGMA journal_mode')).toLowerCase(), 'wal', 'journal_mode after a write');
        });
      },
    },
    {
      name: 'migrations create schema version 6 and are idempotent',
      run: async () => {
        await withOpen(makeAdapter(), (o) => {
          assert.equal(Number(o.db.selectValue('PRAGMA user_version')), 0, 'a fresh database is at version 0');
          assert.equal(migrate(o.db, 'contract'), 0, 'migrate() reports the version it found');
          assert.equal(SCHEMA_VERSION, 6, 'this suite was written for schema version 6');
          assert.equal(Number(o.db.selectValue('PRAGMA user_version')), 6, 'user_version after migrate');
          assert.equal(String(o.db.selectValue("SELECT value FROM meta WHERE key = 'schema_version'")), '6', 'meta.schema_version');
          const tables = tableNames(o);
          for (const t of ['meta', 'events', 'idempotency', 'audit', 'checkpoints', 'projections', 'blobs', 'secrets', 'quarantine', 'ingest_parked', 'projection_snapshots']) {
            assert.ok(tables.includes(t), `table ${t} exists (have ${tables.join(', ')})`);
          }
          assert.equal(migrate(o.db, 'contract'), 6, 'a second migrate() finds version 6');
          assert.deepEqual(tableNames(o), tables, 'a second migrate() changes nothing');
        });
      },
    },
    {
      name: 'a kernel opened on it accepts commands and answers queries',
      run: async () => {
        await withKernel(makeAdapter(), memoryKeyStore(), async (k) => {
          const st = k.status();
          assert.equal(st.schemaVersion, 6, 'status().schemaVersion');
          const id = createWorkspace(k, 'Contract');
          const key = newKey('proj');
          const created = k.command({ type: 'project.create', payload: { workspaceId: id, name: 'P1' }, idempotencyKey: key });
          assert.equal(created.replayed, false, 'first project.create is not a replay');
          const again = k.command({ type: 'project.create', payload: { workspaceId: id, name: 'P1' }, idempotencyKey: key });
          assert.equal(again.replayed, true, 'same idempotency key replays');
          assert.deepEqual(again.events, created.events, 'replay returns the first events');
          const list = k.query('workspace.list') as { id: string; name: string; projectCount: number }[];
          assert.deepEqual(list.map((w) => [w.id, w.name, w.projectCount]), [[DEFAULT_WORKSPACE_ID, 'Default', 0], [id, 'Contract', 1]], 'workspace.list');
          assert.equal(k.status().headSeq, st.headSeq + 3, 'two events appended, after the key registration that comes with the first write');
          const report = await k.verify();
          assert.ok(report.ok, `verify() ok (broken: ${JSON.stringify(report.broken)})`);
        });
      },
    },
    {
      name: 'close and reopen keep every committed event and the projections',
      ...(needsDurable ? { skip: needsDurable } : {}),
      run: async () => {
        const adapter = makeAdapter();
        const keys = memoryKeyStore(); // same device key on reopen: no new key event
        const before = await withKernel(adapter, keys, (k) => {
          const ids: string[] = [];
          for (let i = 0; i < 12; i++) ids.push(createWorkspace(k, `W${i}`));
          k.command({ type: 'workspace.rename', payload: { workspaceId: ids[0]!, name: 'Renamed' }, idempotencyKey: newKey('rn') });
          k.command({ type: 'project.create', payload: { workspaceId: ids[1]!, name: 'P' }, idempotencyKey: newKey('p') });
          return {
            events: k.readEvents(0, 10_000),
            head: k.status().headSeq,
            hash: k.status().headHash,
            digest: k.digest(),
            list: k.query('workspace.list'),
          };
        });
        assert.ok(before.head >= 15, `events were written (head ${before.head})`);
        await withKernel(adapter, keys, async (k) => {
          assert.equal(k.status().headSeq, before.head, 'head seq after reopen');
          assert.equal(k.status().headHash, before.hash, 'head hash after reopen');
          assert.deepEqual(k.readEvents(0, 10_000), before.events, 'every event, byte for byte');
          assert.deepEqual(k.digest(), before.digest, 'projection digests');
          assert.deepEqual(k.query('workspace.list'), before.list, 'workspace.list');
          const report = await k.verify();
          assert.ok(report.ok, `verify() after reopen (broken: ${JSON.stringify(report.broken)})`);
          const rebuilt = k.rebuild();
          assert.ok(rebuilt.projections.every((p) => p.identical), `rebuild() identical: ${JSON.stringify(rebuilt.projections)}`);
        });
        // And once more at the raw level: the data is in the file, not in a cache.
        await withOpen(adapter, (o) => {
          assert.equal(Number(o.db.selectValue('SELECT COUNT(*) FROM events')), before.head + 1, 'raw event count (+1 rebuild event)');
          assert.equal(String(o.db.selectValue('PRAGMA integrity_check')), 'ok', 'integrity_check');
        });
      },
    },
    {
      name: 'a database with a newer schema version is refused with schema_too_new and not modified',
      run: async () => {
        const adapter = makeAdapter();
        const tooNew = SCHEMA_VERSION + 7;
        const snapshot = await withOpen(adapter, async (o) => {
          o.db.exec('CREATE TABLE future_table (x INTEGER)');
          o.db.exec(`PRAGMA user_version = ${tooNew}`);
          const snap = { tables: tableNames(o), changes: Number(o.db.selectValue('SELECT total_changes()')) };
          // Directly: migrate() refuses before writing anything.
          await assert.rejectsWithCode(() => migrate(o.db, 'contract'), 'schema_too_new', 'migrate() on a newer database');
          assert.equal(Number(o.db.selectValue('PRAGMA user_version')), tooNew, 'user_version unchanged');
          assert.deepEqual(tableNames(o), snap.tables, 'no table was created');
          assert.equal(Number(o.db.selectValue('SELECT total_changes()')), snap.changes, 'no row was written');
          return snap;
        });
        if (!opts.reopen) return;
        // Through the kernel: Kernel.open refuses, releases the storage, and leaves the file alone.
        const err = await assert.rejectsWithCode(
          () => Kernel.open({ storage: adapter, keys: memoryKeyStore(), modules: DEFAULT_MODULES }),
          'schema_too_new',
          'Kernel.open on a newer database',
        );
        assert.ok(/schema version/.test(err.message), `the message explains the refusal (${err.message})`);
        await withOpen(adapter, (o) => {
          assert.equal(Number(o.db.selectValue('PRAGMA user_version')), tooNew, 'user_version unchanged after Kernel.open');
          assert.deepEqual(tableNames(o), snapshot.tables, 'schema unchanged after Kernel.open');
        });
      },
    },
    {
      name: 'a rolled-back transaction leaves nothing behind',
      run: async () => {
        const adapter = makeAdapter();
        await withOpen(adapter, (o) => {
          o.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
          o.db.exec("INSERT INTO t (v) VALUES ('kept')");
          let threw = false;
          try {
            o.db.transaction((tx) => {
              tx.exec("INSERT INTO t (v) VALUES ('gone-1'), ('gone-2')");
              tx.exec('CREATE TABLE also_gone (x)');
              throw new Error('abort on purpose');
            });
          } catch {
            threw = true;
          }
          assert.ok(threw, 'the transaction body threw');
          assert.deepEqual(o.db.selectValues('SELECT v FROM t ORDER BY id'), ['kept'], 'rows after rollback');
          assert.ok(!tableNames(o).includes('also_gone'), 'DDL rolled back too');
          o.db.exec('BEGIN IMMEDIATE');
          o.db.exec("INSERT INTO t (v) VALUES ('gone-3')");
          o.db.exec('ROLLBACK');
          assert.equal(Number(o.db.selectValue('SELECT COUNT(*) FROM t')), 1, 'explicit ROLLBACK');
        });
        if (opts.reopen) {
          await withOpen(adapter, (o) => {
            assert.deepEqual(o.db.selectValues('SELECT v FROM t ORDER BY id'), ['kept'], 'rows after rollback and reopen');
          });
        }
        // A failing command rolls back every table it touched.
        await withKernel(makeAdapter(), memoryKeyStore(), (k) => {
          createWorkspace(k, 'Taken');
          const head = k.status().headSeq;
          const digest = k.digest();
          let code: unknown;
          try {
            k.commandBatch([
              { type: 'workspace.create', payload: { name: 'Fresh' }, idempotencyKey: newKey('b1') },
              { type: 'workspace.create', payload: { name: 'Taken' }, idempotencyKey: newKey('b2') },
            ]);
          } catch (err) {
            code = (err as { code?: unknown }).code;
          }
          assert.equal(code, 'already_exists', 'the batch failed on its second command');
          assert.equal(k.status().headSeq, head, 'no event of the failed batch was kept');
          assert.deepEqual(k.digest(), digest, 'projections unchanged');
          assert.equal(Number(k.sql.value("SELECT COUNT(*) FROM workspaces WHERE name = 'Fresh'")), 0, 'no row of the first command');
        });
      },
    },
    {
      name: 'close() is idempotent and releases the storage',
      run: async () => {
        const adapter = makeAdapter();
        const o = await adapter.open();
        o.db.exec('CREATE TABLE t (v TEXT)');
        await o.close();
        await o.close();
        await Promise.all([o.close(), o.close()]);
        assert.equal(o.db.isOpen(), false, 'the handle is closed');
        // The storage is free again: another open succeeds (and sees the data if it can reopen).
        await withOpen(adapter, (o2) => {
          if (opts.reopen) assert.ok(tableNames(o2).includes('t'), 'reopened database has the table');
        });
        const k = await Kernel.open({ storage: adapter, keys: memoryKeyStore(), modules: DEFAULT_MODULES });
        await k.close();
        await k.close();
        assert.ok(k.isClosed, 'kernel reports closed');
        await withOpen(adapter, () => undefined);
      },
    },
    {
      name: 'sizeBytes() grows after writes',
      run: async () => {
        await withOpen(makeAdapter(), (o) => {
          o.db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
          const s0 = o.sizeBytes();
          assert.ok(Number.isFinite(s0) && s0 >= 0, `sizeBytes() is a number (${s0})`);
          const chunk = 'x'.repeat(1000);
          o.db.transaction((tx) => {
            for (let i = 0; i < 300; i++) tx.exec({ sql: 'INSERT INTO t (v) VALUES (?)', bind: [`${i}${chunk}`] });
          });
          const s1 = o.sizeBytes();
          assert.ok(s1 > s0, `sizeBytes() grew: ${s0} -> ${s1}`);
          assert.ok(s1 >= 300_000, `sizeBytes() accounts for ~300 kB written (${s1})`);
        });
      },
    },
  ];
  // A case that does not apply still appears (as skipped) so every runner lists the same names.
  return cases;
}

/** Run cases one after another; never throws. Used by the browser worker (and handy elsewhere). */
export async function runContract(
  cases: readonly ContractCase[],
): Promise<{ name: string; status: 'pass' | 'fail' | 'skip'; error?: string; ms: number }[]> {
  const out: { name: string; status: 'pass' | 'fail' | 'skip'; error?: string; ms: number }[] = [];
  for (const c of cases) {
    const t0 = performance.now();
    if (c.skip) {
      out.push({ name: c.name, status: 'skip', error: c.skip, ms: 0 });
      continue;
    }
    try {
      await c.run();
      out.push({ name: c.name, status: 'pass', ms: Math.round(performance.now() - t0) });
    } catch (err) {
      const text = err instanceof Error ? `${err.name}: ${err.message}${err.stack ? `\n${err.stack}` : ''}` : String(err);
      out.push({ name: c.name, status: 'fail', error: text, ms: Math.round(performance.now() - t0) });
    }
  }
  return out;
}

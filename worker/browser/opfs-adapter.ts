/**
 * The browser's durable storage: sqlite-wasm on the `opfs-sahpool` VFS.
 *
 * Invariants:
 * 1. `locking_mode=EXCLUSIVE` is set before `journal_mode=WAL` on every open (sahpool has no
 *    shared memory; WAL works only in exclusive mode), then `synchronous=FULL`.
 * 2. The pool directory is exclusive to one worker: a second opener gets `storage_locked` and the
 *    caller retries (a tab that just closed may still be releasing its handles).
 * 3. `close()` closes the database and pauses the VFS, releasing every OPFS access handle.
 */
import type { SAHPoolUtil } from '@sqlite.org/sqlite-wasm';
import { DURABLE_PRAGMAS, openedByPages, type OpenedDatabase, type OpenOptions, type StorageAdapter } from '../kernel/db/adapter.ts';
import { loadSqlite3 } from '../kernel/db/memory-adapter.ts';
import { KernelError } from '../kernel/errors.ts';

export const POOL_NAME = 'kingdom-sahpool';
export const POOL_DIRECTORY = '/kingdom';
export const DB_FILE = '/kingdom.sqlite3';

let pool: SAHPoolUtil | null = null;

export function opfsAvailable(): string | null {
  if (typeof navigator === 'undefined' || !navigator.storage || typeof navigator.storage.getDirectory !== 'function') {
    return 'This browser has no Origin Private File System (OPFS).';
  }
  if (typeof FileSystemFileHandle === 'undefined' || !('createSyncAccessHandle' in FileSystemFileHandle.prototype)) {
    return 'This browser cannot open OPFS files synchronously (no createSyncAccessHandle).';
  }
  return null;
}

export function opfsAdapter(file = DB_FILE): StorageAdapter {
  return {
    kind: 'opfs',
    location: `opfs:${POOL_DIRECTORY}${file}`,
    async open(options: OpenOptions = {}): Promise<OpenedDatabase> {
      const reason = opfsAvailable();
      if (reason) throw new KernelError('storage_unavailable', reason);
      const sqlite3 = await loadSqlite3();
      try {
        if (!pool) {
          // forceReinit: sqlite-wasm caches a failed install (e.g. while the previous owner still
          // holds the handles) and would return that failure forever. preserveOnInitFailure: a
          // failed install must never delete the pool directory (that is the user's data).
          const opts = { name: POOL_NAME, directory: POOL_DIRECTORY, initialCapacity: 6, preserveOnInitFailure: true, forceReinitIfPreviouslyFailed: true };
          pool = await sqlite3.installOpfsSAHPoolVfs(opts);
        } else if (pool.isPaused()) {
          await pool.unpauseVfs();
        }
        await pool.reserveMinimumCapacity(6);
      } catch (err) {
        pool = null;
        const message = err instanceof Error ? err.message : String(err);
        if (/NoModificationAllowed|InvalidState|locked|access handle/i.test(message)) {
          throw new KernelError('storage_locked', `The database is still held by another tab: ${message}. Retry in a moment.`);
        }
        throw new KernelError('storage_unavailable', `OPFS storage could not be opened: ${message}`);
      }
      const p = pool;
      const db = new p.OpfsSAHPoolDb(file);
      try {
        for (const pragma of DURABLE_PRAGMAS) {
          if (pragma.startsWith('PRAGMA journal_mode')) options.preflight?.(db); // after EXCLUSIVE, before WAL
          db.exec(pragma);
        }
        const mode = String(db.selectValue('PRAGMA journal_mode'));
        if (mode !== 'wal') throw new Error(`journal_mode is ${mode}, expected wal`);
      } catch (err) {
        db.close();
        throw KernelError.from(err);
      }
      return openedByPages(sqlite3, db, true, () => p.pauseVfs());
    },
  };
}

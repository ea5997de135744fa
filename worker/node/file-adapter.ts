/**
 * The Node file storage adapter: the kernel's database as a real file (plus `-wal`), through the
 * `kingdom-nodefs` VFS (node-file-vfs.ts). Used by crash tests and the headless runner.
 *
 * Invariants:
 * 1. `open()` applies `DURABLE_PRAGMAS` in order (EXCLUSIVE locking before WAL) and refuses to
 *    hand out a handle unless `journal_mode` really is `wal` and `locking_mode` is `exclusive`.
 * 2. A database another live process (or another handle in this process) holds is refused with
 *    `KernelError('storage_locked')`; a full disk surfaces as `storage_full`.
 * 3. `close()` closes the handle, which releases `<db>.lock` (the VFS's xClose); it is idempotent.
 * 4. `sizeBytes()` is the size of the db file plus its `-wal` file, 0 for a file that is missing.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { KernelError } from '../kernel/errors.ts';
import { DURABLE_PRAGMAS, type OpenedDatabase, type StorageAdapter, type OpenOptions } from '../kernel/db/adapter.ts';
import { loadSqlite3 } from '../kernel/db/memory-adapter.ts';
import { installNodeFileVfs, nodeFileLockHolder, takeNodeFileVfsError } from './file-vfs.ts';

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function openError(sqlite3: Sqlite3Static, vfs: string, path: string, err: unknown): KernelError {
  const vfsErr = takeNodeFileVfsError(sqlite3, vfs);
  const message = err instanceof Error ? err.message : String(err);
  const detail = vfsErr ? `${message} (${vfsErr.message})` : message;
  if (vfsErr?.sqliteCode === sqlite3.capi.SQLITE_BUSY || /SQLITE_BUSY|database is locked/i.test(message)) {
    const pid = vfsErr?.lockHolderPid ?? nodeFileLockHolder(path);
    return new KernelError('storage_locked', `Database ${path} is locked by another owner: ${detail}`, {
      path,
      pid: pid ?? null,
    });
  }
  if (vfsErr?.sqliteCode === sqlite3.capi.SQLITE_FULL || /SQLITE_FULL/.test(message)) {
    return new KernelError('storage_full', `Disk full while opening ${path}: ${detail}`, { path });
  }
  return new KernelError('storage_unavailable', `Cannot open database file ${path}: ${detail}`, { path });
}

export function fileAdapter(path: string): StorageAdapter {
  const location = resolve(path);
  return {
    kind: 'file',
    location,
    async open(options: OpenOptions = {}): Promise<OpenedDatabase> {
      const sqlite3 = await loadSqlite3();
      const vfs = installNodeFileVfs(sqlite3);
      takeNodeFileVfsError(sqlite3, vfs); // Forget anything stale before attributing errors.

      let db: Database;
      try {
        db = new sqlite3.oo1.DB({ filename: location, flags: 'c', vfs });
      } catch (err) {
        throw openError(sqlite3, vfs, location, err);
      }

      try {
        let journalMode: unknown;
        for (const pragma of DURABLE_PRAGMAS) {
          if (pragma.startsWith('PRAGMA journal_mode')) options.preflight?.(db);
          const value = db.selectValue(pragma);
          if (pragma.startsWith('PRAGMA journal_mode')) journalMode = value;
        }
        const lockingMode = db.selectValue('PRAGMA locking_mode');
        if (String(journalMode).toLowerCase() !== 'wal' || String(db.selectValue('PRAGMA journal_mode')).toLowerCase() !== 'wal') {
          throw new KernelError('storage_unavailable', `WAL mode could not be enabled on ${location} (journal_mode=${String(journalMode)})`, {
            path: location,
          });
        }
        if (String(lockingMode).toLowerCase() !== 'exclusive') {
          throw new KernelError('storage_unavailable', `Exclusive locking could not be enabled on ${location} (locking_mode=${String(lockingMode)})`, {
            path: location,
          });
        }
      } catch (err) {
        db.close();
        if (err instanceof KernelError) throw err;
        throw openError(sqlite3, vfs, location, err);
      }

      let closed = false;
      return {
        sqlite3,
        db,
        durable: true,
        sizeBytes(): number {
          return fileSize(location) + fileSize(`${location}-wal`);
        },
        async close(): Promise<void> {
          if (closed) return;
          closed = true;
          db.close(); // xClose of the main db file removes <db>.lock (invariant 3).
        },
      };
    },
  };
}

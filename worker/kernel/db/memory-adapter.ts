/**
 * The in-memory storage adapter, and the one cached sqlite-wasm module instance per JS realm.
 *
 * Invariants:
 * 1. `loadSqlite3()` initialises `@sqlite.org/sqlite-wasm` at most once per realm (a failed
 *    initialisation is forgotten so the next call retries); every adapter in this directory that
 *    imports it shares that instance, so VFS registrations are shared too.
 * 2. A memory database is never durable: `durable` is false and nothing outlives `close()`.
 * 3. `MEMORY_PRAGMAS` are applied in order before the handle is handed out.
 * 4. `close()` is idempotent.
 */
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { MEMORY_PRAGMAS, openedByPages, type OpenedDatabase, type StorageAdapter } from './adapter.ts';

let sqlite3Promise: Promise<Sqlite3Static> | null = null;

/** The realm's sqlite-wasm module instance (invariant 1). */
export function loadSqlite3(): Promise<Sqlite3Static> {
  if (!sqlite3Promise) {
    sqlite3Promise = sqlite3InitModule().catch((err: unknown) => {
      sqlite3Promise = null;
      throw err;
    });
  }
  return sqlite3Promise;
}

export function memoryAdapter(): StorageAdapter {
  return {
    kind: 'memory',
    location: ':memory:',
    async open(): Promise<OpenedDatabase> {
      const sqlite3 = await loadSqlite3();
      const db: Database = new sqlite3.oo1.DB(':memory:', 'c');
      try {
        for (const pragma of MEMORY_PRAGMAS) db.exec(pragma);
      } catch (err) {
        db.close();
        throw err;
      }
      return openedByPages(sqlite3, db, false);
    },
  };
}

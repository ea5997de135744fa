/**
 * Storage adapters: where the kernel's one SQLite database lives.
 *
 * Invariants:
 * 1. Every adapter hands back a `Database` from the same `@sqlite.org/sqlite-wasm` build, so the
 *    kernel above it is identical in the browser and in Node.
 * 2. An adapter opens exactly one database handle at a time; `close()` releases every OS/OPFS
 *    handle so another owner (tab, process) can open it.
 * 3. Durable adapters (`opfs`, `file`) apply `locking_mode=EXCLUSIVE` before `journal_mode=WAL`
 *    on every open (the order matters on sahpool) and `synchronous=FULL`.
 */
import type { Database, Sqlite3Static } from '@sqlite.org/sqlite-wasm';

export type AdapterKind = 'memory' | 'opfs' | 'file';

export interface OpenedDatabase {
  readonly sqlite3: Sqlite3Static;
  readonly db: Database;
  /** True when a committed transaction survives a crash of the process/tab. */
  readonly durable: boolean;
  /** Bytes used by the database files (0 when unknown). */
  sizeBytes(): number;
  /** Close the handle and release the storage for another owner. Idempotent. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /**
   * Runs on the freshly opened handle after `locking_mode=EXCLUSIVE` (needed to read a WAL file
   * without shared memory) but BEFORE any pragma that writes (the WAL switch), so a check that
   * throws (e.g. schema_too_new) leaves the file byte-for-byte unchanged.
   */
  readonly preflight?: (db: Database) => void;
}

export interface StorageAdapter {
  readonly kind: AdapterKind;
  /** Human-readable location (file path, OPFS directory, ':memory:'). */
  readonly location: string;
  open(options?: OpenOptions): Promise<OpenedDatabase>;
}

/** Pragmas every durable adapter applies right after opening, in this order. */
export const DURABLE_PRAGMAS = [
  'PRAGMA locking_mode=EXCLUSIVE',
  'PRAGMA journal_mode=WAL',
  'PRAGMA synchronous=FULL',
  'PRAGMA foreign_keys=ON',
] as const;

export const MEMORY_PRAGMAS = ['PRAGMA foreign_keys=ON'] as const;

/**
 * The `OpenedDatabase` for a handle whose size is its page count (memory, OPFS): `close()` is
 * idempotent and runs `release` (e.g. pausing the OPFS pool) after closing the handle.
 */
export function openedByPages(sqlite3: Sqlite3Static, db: Database, durable: boolean, release: () => void = () => {}): OpenedDatabase {
  let closed = false;
  return {
    sqlite3,
    db,
    durable,
    sizeBytes(): number {
      if (closed) return 0;
      return Number(db.selectValue('PRAGMA page_count') ?? 0) * Number(db.selectValue('PRAGMA page_size') ?? 0);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      db.close();
      release();
    },
  };
}

/**
 * A thin statement-caching layer over an oo1 `Database`.
 *
 * Invariants:
 * 1. A statement is prepared once per SQL string and reset after every use, so no statement is
 *    left mid-step (which would hold a read transaction open).
 * 2. `transaction()` is BEGIN IMMEDIATE … COMMIT; any throw rolls back and rethrows. Nested calls
 *    join the outer transaction (the kernel's single-writer queue never nests across commands).
 */
import type { BindingSpec, Database, PreparedStatement, SqlValue } from '@sqlite.org/sqlite-wasm';

export type Row = Record<string, SqlValue>;
export type Bind = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export class Sql {
  readonly db: Database;
  private readonly cache = new Map<string, PreparedStatement>();
  private depth = 0;

  constructor(db: Database) {
    this.db = db;
  }

  /** Run one or more statements without results (DDL, pragmas). */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** Run a cached statement for its effect; returns the number of changed rows. */
  run(sql: string, bind?: Bind): number {
    const stmt = this.stmt(sql);
    try {
      if (hasParams(bind)) stmt.bind(bind as BindingSpec);
      stmt.step();
    } finally {
      stmt.reset(true);
    }
    return this.db.changes();
  }

  /** All rows as objects. */
  all<T extends Row = Row>(sql: string, bind?: Bind): T[] {
    const stmt = this.stmt(sql);
    const rows: T[] = [];
    try {
      if (hasParams(bind)) stmt.bind(bind as BindingSpec);
      while (stmt.step()) rows.push(stmt.get({}) as T);
    } finally {
      stmt.reset(true);
    }
    return rows;
  }

  /** First row or undefined. */
  get<T extends Row = Row>(sql: string, bind?: Bind): T | undefined {
    const stmt = this.stmt(sql);
    try {
      if (hasParams(bind)) stmt.bind(bind as BindingSpec);
      return stmt.step() ? (stmt.get({}) as T) : undefined;
    } finally {
      stmt.reset(true);
    }
  }

  /** First column of the first row, or undefined. */
  value(sql: string, bind?: Bind): SqlValue | undefined {
    const stmt = this.stmt(sql);
    try {
      if (hasParams(bind)) stmt.bind(bind as BindingSpec);
      return stmt.step() ? stmt.get(0) : undefined;
    } finally {
      stmt.reset(true);
    }
  }

  /**
   * Run `fn` in one write transaction. Commits when `fn` returns, rolls back and rethrows when it
   * throws. A nested call runs inside the outer transaction.
   */
  transaction<T>(fn: () => T): T {
    if (this.depth > 0) {
      this.depth++;
      try {
        return fn();
      } finally {
        this.depth--;
      }
    }
    this.db.exec('BEGIN IMMEDIATE');
    this.depth = 1;
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.isOpen()) {
        try {
          this.db.exec('ROLLBACK');
        } catch {
          // SQLite already rolled back (e.g. after SQLITE_FULL); the original error is what matters.
        }
      }
      throw err;
    } finally {
      this.depth = 0;
    }
  }

  get inTransaction(): boolean {
    return this.depth > 0;
  }

  /** Finalize every cached statement (before close, or after DDL that invalidates them). */
  clearCache(): void {
    for (const stmt of this.cache.values()) {
      try {
        stmt.finalize();
      } catch {
        // Finalizing a statement of a closed db throws; the handle is gone either way.
      }
    }
    this.cache.clear();
  }

  private stmt(sql: string): PreparedStatement {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }
}

/** oo1 throws when binding (even an empty list) to a statement without parameters. */
function hasParams(bind: Bind | undefined): boolean {
  if (bind === undefined) return false;
  return Array.isArray(bind) ? bind.length > 0 : Object.keys(bind).length > 0;
}

/**
 * A thin statement-caching layer over an oo1 `Database`; positional statements run through the
 * raw C exports (fast-stmt.ts), named ones through oo1.
 *
 * Invariants:
 * 1. A statement is prepared once per SQL string and reset after every use, so no statement is
 *    left mid-step (which would hold a read transaction open).
 * 2. `transaction()` is BEGIN IMMEDIATE … COMMIT; any throw rolls back and rethrows. Nested calls
 *    join the outer transaction (the kernel's single-writer queue never nests across commands).
 */
import type { BindingSpec, Database, PreparedStatement, SqlValue, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { FastStmt, hasPositional, Scratch } from './fast-stmt.ts';

export type Row = Record<string, SqlValue>;
export type Bind = readonly SqlValue[] | Readonly<Record<string, SqlValue>>;

export class Sql {
  readonly db: Database;
  private readonly sqlite3: Sqlite3Static;
  private readonly cache = new Map<string, FastStmt>();
  private readonly scratch: Scratch;
  private depth = 0;

  constructor(db: Database, sqlite3: Sqlite3Static) {
    this.db = db;
    this.sqlite3 = sqlite3;
    this.scratch = new Scratch(sqlite3);
  }

  /** Run one or more statements without results (DDL, pragmas). */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  /** Run a cached statement for its effect; returns the number of changed rows. */
  run(sql: string, bind?: Bind): number {
    if (hasPositional(bind)) this.stmt(sql).run(bind);
    else this.named(sql, bind, (stmt) => stmt.step());
    return (this.sqlite3.wasm.exports as { sqlite3_changes(db: number): number }).sqlite3_changes(Number(this.db.pointer));
  }

  /** All rows as objects. */
  all<T extends Row = Row>(sql: string, bind?: Bind): T[] {
    if (hasPositional(bind)) return this.stmt(sql).rows(bind) as T[];
    return this.named(sql, bind, (stmt) => {
      const rows: T[] = [];
      while (stmt.step()) rows.push(stmt.get({}) as T);
      return rows;
    });
  }

  /** First row or undefined. */
  get<T extends Row = Row>(sql: string, bind?: Bind): T | undefined {
    if (hasPositional(bind)) return this.stmt(sql).rows(bind, 1)[0] as T | undefined;
    return this.named(sql, bind, (stmt) => (stmt.step() ? (stmt.get({}) as T) : undefined));
  }

  /** First column of the first row, or undefined. */
  value(sql: string, bind?: Bind): SqlValue | undefined {
    if (hasPositional(bind)) return this.stmt(sql).value(bind);
    return this.named(sql, bind, (stmt) => (stmt.step() ? stmt.get(0) : undefined));
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
    // Cached statements: db.exec() would parse, prepare and finalize BEGIN/COMMIT on every
    // transaction through oo1 (tens of µs, paid once per command on the single-command path).
    this.stmt('BEGIN IMMEDIATE').run(undefined);
    this.depth = 1;
    try {
      const out = fn();
      this.stmt('COMMIT').run(undefined);
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

  /** Release the scratch buffer; call once, after the last statement. */
  dispose(): void {
    this.clearCache();
    this.scratch.free();
  }

  private stmt(sql: string): FastStmt {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = new FastStmt(this.sqlite3, this.db, this.db.prepare(sql), this.scratch);
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  /** Named parameters (rare: tests, ad-hoc reads) go through oo1, uncached. */
  private named<T>(sql: string, bind: Bind | undefined, fn: (stmt: PreparedStatement) => T): T {
    const stmt = this.db.prepare(sql);
    try {
      if (bind !== undefined && Object.keys(bind).length > 0) stmt.bind(bind as BindingSpec);
      return fn(stmt);
    } finally {
      stmt.finalize();
    }
  }
}

/**
 * Prepared statements driven through sqlite-wasm's raw C exports instead of the oo1 binding.
 * oo1 costs ~20 µs per row in argument checking and per-call allocations; binding and reading
 * through `sqlite3.wasm.exports` with one reused scratch buffer is 2.5–5× faster (see
 * docs/benchmarks.md), and every command runs several statements.
 *
 * Invariants:
 * 1. Strings are encoded into one scratch buffer and bound with SQLITE_TRANSIENT (SQLite copies
 *    them), so nothing stays allocated after `bind` returns.
 * 2. Every positional parameter is bound on every use (the callers always pass all of them);
 *    a wrong count throws before stepping.
 * 3. After `run`/`get`/`all` the statement is reset, so no read transaction stays open.
 * 4. Errors carry SQLite's result-code name and message (`SQLITE_CONSTRAINT_UNIQUE: …`), so
 *    KernelError.from can recognise SQLITE_FULL and friends.
 * 5. INTEGER columns are read as JS numbers: exact up to 2^53, which every kernel column (seq,
 *    versions, sizes) stays below; BigInt parameters outside that range are refused, not rounded.
 */
import type { Database, PreparedStatement, SqlValue, Sqlite3Static } from '@sqlite.org/sqlite-wasm';

interface CExports {
  sqlite3_bind_text(p: number, i: number, s: number, n: number, d: number): number;
  sqlite3_bind_blob(p: number, i: number, s: number, n: number, d: number): number;
  sqlite3_bind_int(p: number, i: number, v: number): number;
  sqlite3_bind_double(p: number, i: number, v: number): number;
  sqlite3_bind_null(p: number, i: number): number;
  sqlite3_bind_parameter_count(p: number): number;
  sqlite3_step(p: number): number;
  sqlite3_reset(p: number): number;
  sqlite3_column_count(p: number): number;
  sqlite3_column_type(p: number, i: number): number;
  sqlite3_column_double(p: number, i: number): number;
  sqlite3_column_text(p: number, i: number): number;
  sqlite3_column_blob(p: number, i: number): number;
  sqlite3_column_bytes(p: number, i: number): number;
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const SQLITE_TRANSIENT = -1;
const SQLITE_INTEGER = 1;
const SQLITE_FLOAT = 2;
const SQLITE_TEXT = 3;
const SQLITE_BLOB = 4;

export type FastRow = Record<string, SqlValue>;

/** One scratch buffer per database for bound strings and blobs. */
export class Scratch {
  ptr = 0;
  cap = 0;
  constructor(private readonly sqlite3: Sqlite3Static) {
    this.grow(16 * 1024);
  }
  grow(min: number): void {
    if (this.ptr) this.sqlite3.wasm.dealloc(this.ptr);
    this.cap = Math.max(min, this.cap * 2);
    this.ptr = Number(this.sqlite3.wasm.alloc(this.cap));
  }
  free(): void {
    if (this.ptr) this.sqlite3.wasm.dealloc(this.ptr);
    this.ptr = 0;
    this.cap = 0;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class FastStmt {
  private readonly p: number;
  private readonly ex: CExports;
  private readonly params: number;
  private names: string[] | null = null;

  constructor(
    private readonly sqlite3: Sqlite3Static,
    private readonly db: Database,
    readonly stmt: PreparedStatement,
    private readonly scratch: Scratch,
  ) {
    this.p = Number(stmt.pointer);
    this.ex = sqlite3.wasm.exports as unknown as CExports;
    this.params = this.ex.sqlite3_bind_parameter_count(this.p);
  }

  run(bind: readonly SqlValue[] | undefined): void {
    this.bind(bind);
    const rc = this.ex.sqlite3_step(this.p);
    this.ex.sqlite3_reset(this.p);
    if (rc !== SQLITE_DONE && rc !== SQLITE_ROW) this.fail(rc);
  }

  /** Rows as objects keyed by column name; `limit` 1 for `get`. */
  rows(bind: readonly SqlValue[] | undefined, limit = Infinity): FastRow[] {
    this.bind(bind);
    const out: FastRow[] = [];
    try {
      while (out.length < limit) {
        const rc = this.ex.sqlite3_step(this.p);
        if (rc === SQLITE_DONE) break;
        if (rc !== SQLITE_ROW) this.fail(rc);
        const names = this.columnNames();
        const row: FastRow = {};
        for (let i = 0; i < names.length; i++) row[names[i]!] = this.column(i);
        out.push(row);
      }
    } finally {
      this.ex.sqlite3_reset(this.p);
    }
    return out;
  }

  /** First column of the first row. */
  value(bind: readonly SqlValue[] | undefined): SqlValue | undefined {
    this.bind(bind);
    try {
      const rc = this.ex.sqlite3_step(this.p);
      if (rc === SQLITE_DONE) return undefined;
      if (rc !== SQLITE_ROW) this.fail(rc);
      return this.column(0);
    } finally {
      this.ex.sqlite3_reset(this.p);
    }
  }

  finalize(): void {
    this.stmt.finalize();
  }

  private bind(values: readonly SqlValue[] | undefined): void {
    const n = values?.length ?? 0;
    if (n !== this.params) {
      throw new RangeError(`statement expects ${this.params} parameters, got ${n}`);
    }
    if (n === 0) return;
    // Worst case UTF-8 is 3 bytes per UTF-16 unit.
    let need = 0;
    for (const v of values!) {
      if (typeof v === 'string') need += v.length * 3;
      else if (v instanceof Uint8Array) need += v.byteLength;
    }
    if (need > this.scratch.cap) this.scratch.grow(need);
    // Binding with SQLITE_TRANSIENT makes SQLite copy the value (malloc), which may grow the WASM
    // memory and detach every view of the old buffer: take the heap view afresh for each value.
    const wasm = this.sqlite3.wasm;
    let off = this.scratch.ptr;
    const end = this.scratch.ptr + this.scratch.cap;
    for (let i = 0; i < n; i++) {
      const v = values![i];
      let rc: number;
      if (typeof v === 'string') {
        const { written } = encoder.encodeInto(v, wasm.heap8u().subarray(off, end));
        rc = this.ex.sqlite3_bind_text(this.p, i + 1, off, written, SQLITE_TRANSIENT);
        off += written;
      } else if (typeof v === 'number') {
        rc = Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
          ? this.ex.sqlite3_bind_int(this.p, i + 1, v)
          : this.ex.sqlite3_bind_double(this.p, i + 1, v);
      } else if (v === null || v === undefined) {
        rc = this.ex.sqlite3_bind_null(this.p, i + 1);
      } else if (typeof v === 'bigint') {
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new RangeError(`parameter ${i + 1}: ${v} is outside the safe integer range this layer binds exactly`);
        }
        rc = this.ex.sqlite3_bind_double(this.p, i + 1, Number(v));
      } else if (v instanceof Uint8Array) {
        wasm.heap8u().set(v, off);
        rc = this.ex.sqlite3_bind_blob(this.p, i + 1, off, v.byteLength, SQLITE_TRANSIENT);
        off += v.byteLength;
      } else {
        throw new TypeError(`cannot bind a ${Object.prototype.toString.call(v)} as parameter ${i + 1}`);
      }
      if (rc !== 0) this.fail(rc);
    }
  }

  private column(i: number): SqlValue {
    switch (this.ex.sqlite3_column_type(this.p, i)) {
      case SQLITE_INTEGER:
      case SQLITE_FLOAT:
        return this.ex.sqlite3_column_double(this.p, i);
      case SQLITE_TEXT: {
        const ptr = this.ex.sqlite3_column_text(this.p, i);
        const len = this.ex.sqlite3_column_bytes(this.p, i);
        return decoder.decode(this.sqlite3.wasm.heap8u().subarray(ptr, ptr + len));
      }
      case SQLITE_BLOB: {
        const ptr = this.ex.sqlite3_column_blob(this.p, i);
        const len = this.ex.sqlite3_column_bytes(this.p, i);
        return this.sqlite3.wasm.heap8u().slice(ptr, ptr + len);
      }
      default:
        return null;
    }
  }

  private columnNames(): string[] {
    if (!this.names) {
      const n = this.ex.sqlite3_column_count(this.p);
      this.names = [];
      for (let i = 0; i < n; i++) this.names.push(this.stmt.getColumnName(i) ?? `column${i}`);
    }
    return this.names;
  }

  private fail(rc: number): never {
    const capi = this.sqlite3.capi;
    const name = capi.sqlite3_js_rc_str(rc) ?? `SQLITE_ERROR_${rc}`;
    const msg = capi.sqlite3_errmsg(Number(this.db.pointer));
    throw new Error(`${name}: ${msg}`);
  }
}

export function hasPositional(bind: unknown): bind is readonly SqlValue[] | undefined {
  return bind === undefined || Array.isArray(bind);
}

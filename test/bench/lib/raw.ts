/**
 * Raw sqlite-wasm baselines: the same rows the kernel wrote, inserted with a prepared statement,
 * either through the oo1 binding (`stmt.bind(row).stepReset()`) or through the raw C API
 * (`sqlite3.wasm.exports.sqlite3_bind_*`, strings encoded into one scratch buffer and bound with
 * SQLITE_TRANSIENT). Browser-safe: no node: imports.
 */
import type { Database, Sqlite3Static, SqlValue } from '@sqlite.org/sqlite-wasm';
import { MIGRATIONS } from '../../../worker/kernel/db/migrations.ts';

export type RawRow = readonly SqlValue[];

export const EVENT_COLUMNS = ['seq', 'id', 'device', 'device_seq', 'hlc', 'stream', 'stream_seq', 'stream_base', 'type', 'v', 'at', 'actor', 'payload', 'prev', 'hash'] as const;

/**
 * A synthetic event row in EVENT_COLUMNS order (one device's chain, position i + 1): the raw
 * baselines insert rows shaped exactly like the kernel's.
 */
export function syntheticEventRow(i: number, e: { stream: string; type: string; actor: string; payload: string }): RawRow {
  const hex = (salt: number) => ((i * 2654435761 + salt) >>> 0).toString(16).padStart(8, '0').repeat(8);
  const hlc = (1_700_000_000_000 + i).toString(16).padStart(12, '0') + '0000';
  const device = 'dev-0190a8c4-0000-7000-8000-000000000000';
  const hash = hex(2);
  return [
    i + 1, `0190a8c4-0000-7000-8000-${(i + 1).toString(16).padStart(12, '0')}`, device, i + 1, hlc,
    e.stream, 1, 0, e.type, 1, new Date(1_700_000_000_000 + i).toISOString(), e.actor, e.payload, hex(1), hash,
  ];
}

/** The kernel's own schema (events with the same indexes and append-only triggers). */
export function createKernelSchema(db: Database): void {
  for (const m of MIGRATIONS) {
    if (m.sql) db.exec(m.sql);
    m.up?.(db);
  }
}

export function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}

/** Read rows as arrays (column order as given). */
export function readRows(db: Database, sql: string, bind: readonly SqlValue[] = []): SqlValue[][] {
  return db.exec({ sql, bind: bind as SqlValue[], rowMode: 'array', returnValue: 'resultRows' }) as SqlValue[][];
}

export interface Inserter {
  /** Insert rows[from, to) in one BEGIN IMMEDIATE … COMMIT transaction. */
  batch(rows: readonly RawRow[], from: number, to: number): void;
  /** Insert one row as its own autocommit transaction. */
  one(row: RawRow): void;
  close(): void;
}

/** Prepared statement through the oo1 binding. */
export function oo1Inserter(db: Database, sql: string): Inserter {
  const stmt = db.prepare(sql);
  return {
    batch(rows, from, to) {
      db.exec('BEGIN IMMEDIATE');
      try {
        for (let i = from; i < to; i++) stmt.bind(rows[i] as SqlValue[]).stepReset();
        db.exec('COMMIT');
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    one(row) {
      stmt.bind(row as SqlValue[]).stepReset();
    },
    close() {
      stmt.finalize();
    },
  };
}

interface CApiExports {
  sqlite3_bind_text(p: number, i: number, s: number, n: number, d: number): number;
  sqlite3_bind_int(p: number, i: number, v: number): number;
  sqlite3_bind_double(p: number, i: number, v: number): number;
  sqlite3_bind_null(p: number, i: number): number;
  sqlite3_step(p: number): number;
  sqlite3_reset(p: number): number;
  sqlite3_exec(db: number, sql: number, cb: number, arg: number, err: number): number;
}

const SQLITE_ROW = 100;
const SQLITE_DONE = 101;
const SQLITE_TRANSIENT = -1;

/** Prepared statement bound through `sqlite3.wasm.exports` directly (no oo1/xWrap layer). */
export function capiInserter(sqlite3: Sqlite3Static, db: Database, sql: string): Inserter {
  const stmt = db.prepare(sql);
  const p = Number(stmt.pointer);
  const ex = sqlite3.wasm.exports as CApiExports;
  const enc = new TextEncoder();
  let cap = 64 * 1024;
  let buf = Number(sqlite3.wasm.alloc(cap));
  const pBegin = Number(sqlite3.wasm.allocCString('BEGIN IMMEDIATE', false));
  const pCommit = Number(sqlite3.wasm.allocCString('COMMIT', false));
  const dbp = Number(db.pointer);

  const bindRow = (row: RawRow): void => {
    let heap = sqlite3.wasm.heap8u();
    let off = 0;
    for (let c = 0; c < row.length; c++) {
      const v = row[c];
      let rc: number;
      if (typeof v === 'string') {
        if (off + v.length * 3 > cap) {
          // Grow the scratch buffer (rare; rows are small).
          sqlite3.wasm.dealloc(buf);
          cap = Math.max(cap * 2, off + v.length * 3 + 1024);
          buf = Number(sqlite3.wasm.alloc(cap));
          heap = sqlite3.wasm.heap8u();
          off = 0;
        }
        const { written } = enc.encodeInto(v, heap.subarray(buf + off, buf + cap));
        rc = ex.sqlite3_bind_text(p, c + 1, buf + off, written, SQLITE_TRANSIENT);
        off += written;
      } else if (typeof v === 'number') {
        rc = (v | 0) === v ? ex.sqlite3_bind_int(p, c + 1, v) : ex.sqlite3_bind_double(p, c + 1, v);
      } else if (v === null || v === undefined) {
        rc = ex.sqlite3_bind_null(p, c + 1);
      } else {
        throw new Error(`capiInserter: unsupported value type ${typeof v}`);
      }
      if (rc !== 0) throw new Error(`sqlite3_bind_* failed with ${rc}`);
    }
  };
  const step = (): void => {
    const rc = ex.sqlite3_step(p);
    if (rc !== SQLITE_DONE && rc !== SQLITE_ROW) {
      const msg = sqlite3.capi.sqlite3_errmsg(dbp);
      ex.sqlite3_reset(p);
      throw new Error(`sqlite3_step failed with ${rc}: ${msg}`);
    }
    ex.sqlite3_reset(p);
  };
  const execPtr = (pSql: number): void => {
    const rc = ex.sqlite3_exec(dbp, pSql, 0, 0, 0);
    if (rc !== 0) throw new Error(`sqlite3_exec failed with ${rc}`);
  };
  return {
    batch(rows, from, to) {
      execPtr(pBegin);
      try {
        for (let i = from; i < to; i++) {
          bindRow(rows[i]!);
          step();
        }
        execPtr(pCommit);
      } catch (err) {
        db.exec('ROLLBACK');
        throw err;
      }
    },
    one(row) {
      bindRow(row);
      step();
    },
    close() {
      stmt.finalize();
      sqlite3.wasm.dealloc(buf);
      sqlite3.wasm.dealloc(pBegin);
      sqlite3.wasm.dealloc(pCommit);
    },
  };
}

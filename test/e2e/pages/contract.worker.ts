/**
 * A module worker for the storage test pages (contract.html): runs the storage contract on the
 * OPFS adapter (and, for comparison, on the memory adapter) inside Chromium, and offers single
 * adapter operations so a page can make two workers contend for the same OPFS pool.
 *
 * Exposed through Comlink; every method returns plain data and never rejects (errors come back
 * as `{ ok: false, code, message }`).
 */
import * as Comlink from 'comlink';
import { runContract, storageContract } from '../../contract/storage-contract.ts';
import { memoryAdapter, loadSqlite3 } from '../../../worker/kernel/db/memory-adapter.ts';
import { opfsAdapter, POOL_DIRECTORY, POOL_NAME } from '../../../worker/browser/opfs-adapter.ts';
import type { OpenedDatabase } from '../../../worker/kernel/db/adapter.ts';

export type OpResult<T = null> = { ok: true; value: T } | { ok: false; code: string; message: string };

let opened: OpenedDatabase | null = null;

function failure(err: unknown): { ok: false; code: string; message: string } {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? String((err as { code: string }).code) : 'exception';
  return { ok: false, code, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

const api = {
  /** Run every contract case, one after another, on a distinct set of files per call. */
  async runContract(kind: 'opfs' | 'memory', prefix: string) {
    if (kind === 'opfs') {
      // Every case creates a database (+ its WAL): make room beyond the adapter's 6 slots. The
      // pool instance is cached by name, so this is the very pool the adapter then uses.
      const sqlite3 = await loadSqlite3();
      const pool = await sqlite3.installOpfsSAHPoolVfs({ name: POOL_NAME, directory: POOL_DIRECTORY, initialCapacity: 6 });
      if (pool.isPaused()) await pool.unpauseVfs();
      await pool.reserveMinimumCapacity(48);
    }
    let n = 0;
    const make = kind === 'opfs' ? () => opfsAdapter(`/${prefix}-${++n}.sqlite3`) : () => memoryAdapter();
    const cases = storageContract(make, kind === 'opfs' ? { durable: true, reopen: true } : { durable: false, reopen: false });
    return runContract(cases);
  },

  /** Open `file` in this worker's OPFS pool and keep it open. */
  async open(file: string): Promise<OpResult> {
    try {
      if (opened) throw new Error('already open in this worker');
      opened = await opfsAdapter(file).open();
      return { ok: true, value: null };
    } catch (err) {
      return failure(err);
    }
  },

  /** Run statements on the open database; returns the first column of the last row, if any. */
  async exec(sql: string): Promise<OpResult<unknown>> {
    try {
      if (!opened) throw new Error('not open');
      const rows = opened.db.exec({ sql, returnValue: 'resultRows', rowMode: 'array' }) as unknown[][];
      return { ok: true, value: rows.length ? (rows[rows.length - 1]![0] ?? null) : null };
    } catch (err) {
      return failure(err);
    }
  },

  async close(): Promise<OpResult> {
    try {
      await opened?.close();
      opened = null;
      return { ok: true, value: null };
    } catch (err) {
      return failure(err);
    }
  },
};

export type ContractWorkerApi = typeof api;
Comlink.expose(api);

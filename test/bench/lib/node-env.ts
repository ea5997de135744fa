/**
 * Node storage environments for the scenarios: `node-memory` (':memory:') and `node-file` (the
 * durable kingdom-nodefs VFS, through the real file adapter, in a scratch directory).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { openKernel } from '../../../worker/node/index.ts';
import { loadSqlite3 } from '../../../worker/kernel/db/memory-adapter.ts';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';
import { MEMORY_PRAGMAS } from '../../../worker/kernel/db/adapter.ts';
import { BENCH_MODULES, type Env } from './scenarios.ts';

/** A handle on V8's gc() without --expose-gc on the command line (npm run bench runs plain tsx). */
const gc: () => void = (() => {
  try {
    setFlagsFromString('--expose-gc');
    const f = runInNewContext('gc') as unknown;
    if (typeof f === 'function') return () => void (f as () => void)();
  } catch {
    // No gc available: timings just get a little noisier.
  }
  return () => {};
})();

export function memoryEnv(log: (m: string) => void): Env {
  return {
    storage: 'node-memory',
    durable: false,
    openKernel: (_name, clock) => openKernel({ storage: 'memory', modules: BENCH_MODULES, ...(clock ? { clock } : {}) }),
    async openRaw() {
      const sqlite3 = await loadSqlite3();
      const db = new sqlite3.oo1.DB(':memory:', 'c');
      for (const p of MEMORY_PRAGMAS) db.exec(p);
      return { sqlite3, db, close: async () => db.close() };
    },
    async remove() {},
    log,
    settle: gc,
  };
}

export function fileEnv(dir: string, log: (m: string) => void): Env {
  mkdirSync(dir, { recursive: true });
  const path = (name: string) => join(dir, `${name}.sqlite3`);
  return {
    storage: 'node-file',
    durable: true,
    openKernel: (name, clock) => openKernel({ storage: { file: path(name) }, modules: BENCH_MODULES, ...(clock ? { clock } : {}) }),
    async openRaw(name) {
      const opened = await fileAdapter(path(name)).open();
      return { sqlite3: opened.sqlite3, db: opened.db, close: () => opened.close() };
    },
    async remove(name) {
      for (const suffix of ['', '-wal', '-journal', '.lock', '.device-key.json']) rmSync(path(name) + suffix, { force: true });
    },
    log,
    settle: gc,
  };
}

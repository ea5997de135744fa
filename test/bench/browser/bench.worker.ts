/**
 * The browser half of the benchmark, in a module worker like the app's kernel: the same scenarios
 * as Node, on the `opfs-sahpool` VFS through the app's own `opfsAdapter()`. Raw baselines open
 * other files of the same pool (same VFS instance, same pragmas).
 */
import { Kernel } from '../../../worker/kernel/kernel.ts';
import { DB_FILE, opfsAdapter, opfsAvailable, POOL_DIRECTORY, POOL_NAME } from '../../../worker/browser/opfs-adapter.ts';
import { openBrowserKernel } from '../../../worker/browser/open-kernel.ts';
import { loadSqlite3 } from '../../../worker/kernel/db/memory-adapter.ts';
import { DURABLE_PRAGMAS } from '../../../worker/kernel/db/adapter.ts';
import { memoryKeyStore, type KeyStore } from '../../../worker/kernel/log/keys.ts';
import { DEFAULT_MODULES } from '../../../worker/modules.ts';
import type { SAHPoolUtil, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { BENCH_MODULES, benchBatched, benchBoot, benchSingle, type Env, type Figure } from '../lib/scenarios.ts';
import { sizes } from '../lib/sizes.ts';
import { benchEngineSteps, ENGINE_STEPS_TARGET, engineSizes, type EngineEnv } from '../lib/engine.ts';
import type { BrowserBenchConfig, WorkerMessage } from './protocol.ts';

const post = (m: WorkerMessage) => (self as unknown as { postMessage(m: WorkerMessage): void }).postMessage(m);
const log = (message: string) => post({ kind: 'log', message });

async function getPool(): Promise<{ sqlite3: Sqlite3Static; pool: SAHPoolUtil }> {
  const sqlite3 = await loadSqlite3();
  // Same name, directory and options as opfsAdapter(): sqlite-wasm hands back the same pool
  // instance (it caches the install per VFS name), so raw and kernel files share one VFS.
  const pool = await sqlite3.installOpfsSAHPoolVfs({
    name: POOL_NAME, directory: POOL_DIRECTORY, initialCapacity: 6, preserveOnInitFailure: true, forceReinitIfPreviouslyFailed: true,
  } as Parameters<Sqlite3Static['installOpfsSAHPoolVfs']>[0]);
  if (pool.isPaused()) await pool.unpauseVfs();
  return { sqlite3, pool };
}

function opfsEnv(): Env {
  const keys = new Map<string, KeyStore>();
  const file = (name: string) => `/${name}.sqlite3`;
  return {
    storage: 'chromium-opfs',
    durable: true,
    async openKernel(name) {
      let ks = keys.get(name);
      if (!ks) {
        ks = memoryKeyStore(); // kept per store, so a reopen finds its key (no new key event)
        keys.set(name, ks);
      }
      return Kernel.open({ storage: opfsAdapter(file(name)), keys: ks, modules: [...DEFAULT_MODULES, ...BENCH_MODULES] });
    },
    async openRaw(name) {
      const { sqlite3, pool } = await getPool();
      await pool.reserveMinimumCapacity(pool.getFileCount() + 6);
      const db = new pool.OpfsSAHPoolDb(file(name));
      for (const p of DURABLE_PRAGMAS) db.exec(p);
      const mode = String(db.selectValue('PRAGMA journal_mode'));
      if (mode !== 'wal') throw new Error(`raw db journal_mode is ${mode}`);
      return { sqlite3, db, close: async () => db.close() };
    },
    async remove(name) {
      const { pool } = await getPool();
      for (const suffix of ['', '-wal', '-journal']) {
        if (pool.getFileNames().includes(file(name) + suffix)) pool.unlink(file(name) + suffix);
      }
      keys.delete(name);
    },
    log,
    settle() {},
  };
}

/**
 * engine-steps in Chromium: the kernel is opened the way the app's leader opens it
 * (`openBrowserKernel`: OPFS at the app's own path, IndexedDB key store), which starts the engine
 * with the default runners itself; the benchmark cannot reach that engine, so it polls a count.
 * Each run starts from an empty store (the app's database file is deleted first).
 */
function leaderEnv(base: Env): EngineEnv {
  const wipeAppDb = async () => {
    const { pool } = await getPool();
    for (const suffix of ['', '-wal', '-journal']) {
      if (pool.getFileNames().includes(DB_FILE + suffix)) pool.unlink(DB_FILE + suffix);
    }
  };
  return {
    ...base,
    async remove(name) {
      await base.remove(name);
      await wipeAppDb(); // the driven kernel lives in the app's file, whatever the name
    },
    async openDriven() {
      await wipeAppDb();
      const opened = await openBrowserKernel({});
      if (opened.storage !== 'opfs') throw new Error(`engine-steps: the leader opened ${opened.storage} storage (${opened.fallbackReason ?? ''})`);
      return { kernel: opened.root.kernel, engine: null };
    },
  };
}

self.onmessage = (ev: MessageEvent<BrowserBenchConfig>) => {
  void run(ev.data).catch((err: unknown) => post({ kind: 'error', message: err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err) }));
};

async function run(config: BrowserBenchConfig): Promise<void> {
  const reason = opfsAvailable();
  if (reason) throw new Error(reason);
  const s = sizes(config.quick);
  const { pool } = await getPool();
  await pool.wipeFiles();
  await pool.reserveMinimumCapacity(16);
  const env = opfsEnv();
  const figures: Figure[] = [];
  const started = performance.now();
  if (config.parts.includes('batch')) figures.push(...(await benchBatched(env, { ...s.batch, workload: 'bench' })));
  if (config.parts.includes('single')) figures.push(...(await benchSingle(env, s.single)));
  if (config.parts.includes('boot')) figures.push(...(await benchBoot(env, { ...s.boot, keep: false })));
  if (config.parts.includes('engine-steps')) {
    figures.push(...(await benchEngineSteps(leaderEnv(env), { ...engineSizes(config.quick).steps, target: ENGINE_STEPS_TARGET.chromium })));
  }
  const info = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated ?? false,
    hardwareConcurrency: navigator.hardwareConcurrency,
    durationMs: Math.round(performance.now() - started),
  };
  post({ kind: 'done', figures, info });
}

/**
 * The real relay for the sync benchmarks (Node only): `sync-server/src/main.ts` spawned as its own
 * process on 127.0.0.1, port 0 (a free port), a temp data dir; killed by PID when the bench ends,
 * also when it fails (`stop()` in a finally, and an 'exit' hook for anything a crash skipped).
 *
 * The bench process needs a WebSocket class (Node 20 has none): `ws`, from sync-server's own
 * node_modules. `loadWebSocket()` says what to run when that package is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SYNC_SERVER_DIR = fileURLToPath(new URL('../../../sync-server/', import.meta.url));

/** `ws`'s WebSocket class from sync-server/node_modules (y-websocket's WebSocketPolyfill). */
export function loadWebSocket(): unknown {
  try {
    return createRequire(join(SYNC_SERVER_DIR, 'package.json'))('ws') as unknown;
  } catch (err) {
    throw new Error(`the sync benchmarks need the relay's dependencies (the \`ws\` package): run npm ci --prefix sync-server (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Per-address limits raised so that hundreds of clients on 127.0.0.1 are not one abusive address. */
export const LOAD_RELAY_FLAGS = ['--rate-connects', '100000', '--rate-addr-messages', '1000000', '--rate-addr-burst', '1000000', '--rate-addr-bytes', String(1024 ** 3)];

export interface Relay {
  readonly url: string;
  readonly pid: number;
  readonly port: number;
  /** Resident memory of the relay process now (bytes, /proc/<pid>/status VmRSS). */
  rss(): number;
  /** CPU time the relay process used so far (user + system, seconds; /proc/<pid>/stat at 100 Hz). */
  cpuSeconds(): number;
  /** Kill by PID (SIGKILL), wait for the exit, remove the data dir. Idempotent. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

/** Start one relay and wait (at most 20 s) for its `relay.started` line. */
export async function startRelay(options: { args?: readonly string[]; env?: Record<string, string> } = {}): Promise<Relay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kingdom-bench-relay-'));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...(options.args ?? [])], {
    cwd: SYNC_SERVER_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => {
    running.delete(child);
    resolve();
  }));
  let out = '';
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    if (err.length < 10_000) err += c;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the relay did not start within 20 s: ${out.slice(0, 2000)}${err.slice(0, 2000)}`)), 20_000);
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      if (out.length < 100_000) out += c;
      const m = /"event":"relay\.started".*?"port":(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited (code ${code}, signal ${signal}) before starting: ${out.slice(0, 2000)}${err.slice(0, 2000)}`));
    });
  }).catch(async (e: unknown) => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  });
  // Keep draining stdout (the relay logs a line per connection) without keeping it.
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  const pid = child.pid as number;
  let stopped: Promise<void> | null = null;
  return {
    url: `ws://127.0.0.1:${port}`,
    pid,
    port,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    cpuSeconds: () => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    stop: () => {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
        await exited;
        rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}

/** Start `count` relays (today always one process per call; with REDIS_URL in `env`, a scaled-out set). */
export async function startRelays(count: number, options: { args?: readonly string[]; env?: Record<string, string> } = {}): Promise<Relay[]> {
  const relays: Relay[] = [];
  try {
    for (let i = 0; i < count; i++) relays.push(await startRelay(options));
    return relays;
  } catch (e) {
    await Promise.all(relays.map((r) => r.stop()));
    throw e;
  }
}

/**
 * A real Redis for the "two relays over Redis" load figure (Node only): Debian's redis-server in
 * the foreground on 127.0.0.1, a free port, no persistence (`--save "" --appendonly no`, as in
 * sync-server/test/redis-helpers.ts), killed by PID when the figure ends (also on failure, and by
 * an 'exit' hook). `redisServerPath()` is null when redis-server is not installed: the bench then
 * skips the figure with a note instead of failing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

export interface RedisProcess {
  readonly url: string;
  readonly pid: number;
  /** CPU time redis-server used so far (user + system, seconds; /proc/<pid>/stat at 100 Hz). */
  cpuSeconds(): number;
  /** SIGKILL by PID and wait for the exit. Idempotent. */
  stop(): Promise<void>;
}

/** The redis-server binary (REDIS_SERVER, else Debian's /usr/bin/redis-server), or null when missing. */
export function redisServerPath(): string | null {
  const path = process.env['REDIS_SERVER'] ?? '/usr/bin/redis-server';
  return existsSync(path) ? path : null;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      server.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** One PING over a plain socket: true when the server answered +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => { s.destroy(); resolve(ok); };
    s.setTimeout(500, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => { got += d.toString(); if (got.includes('\r\n')) done(got.startsWith('+PONG')); });
  });
}

export async function startRedis(path: string): Promise<RedisProcess> {
  const port = await freePort();
  const child = spawn(path, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  for (const s of [child.stdout, child.stderr]) s?.setEncoding('utf8').on('data', (c: string) => { if (output.length < 10_000) output += c; });
  const exited = new Promise<void>((resolve) => child.on('exit', () => { running.delete(child); resolve(); }));
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited;
    })();
    return stopped;
  };
  const end = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (child.exitCode !== null || Date.now() > end) {
      await stop();
      throw new Error(`redis-server did not answer PING on port ${port}: ${output.slice(0, 2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid as number;
  return {
    url: `redis://127.0.0.1:${port}`,
    pid,
    cpuSeconds: () => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(f[11]) + Number(f[12])) / 100;
    },
    stop,
  };
}

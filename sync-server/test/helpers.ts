/**
 * Test harness for the relay: the real relay process (spawned on 127.0.0.1, port 0, a temp data
 * dir), real y-websocket clients, raw WebSocket clients that speak the wire format by hand, and
 * tokens signed with WebCrypto Ed25519 exactly as docs/sync-protocol.md says.
 *
 * Every wait is bounded (waitFor throws with what it waited for), and every process a test
 * starts is stopped by its PID in a finally (`using`-style: `relay.kill()` is idempotent).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, type webcrypto } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

// Relays still running when this test process exits (a failed assertion that skipped a
// finally, an uncaught error) are killed by PID, so no relay outlives its test file.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

export interface LogLine {
  readonly ts: string;
  readonly level: string;
  readonly event: string;
  readonly room?: string;
  readonly addr?: string;
  readonly details?: Record<string, unknown>;
}

export interface RelayProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly lines: LogLine[];
  /** Raw stdout, for checks that nothing secret was logged. */
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends `signal` (default SIGKILL) by PID if the process still runs. */
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns `node --import tsx src/main.ts` and waits for its relay.started line. */
export async function startRelay(options: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<RelayProcess> {
  const dataDir = options.dataDir ?? (await tempDir());
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...(options.args ?? [])], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  const lines: LogLine[] = [];
  let out = '';
  let err = '';
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as LogLine);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const kill = (signal: NodeJS.Signals = 'SIGKILL') => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, signal);
  };
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  void exited.then((e) => {
    exit = e;
  });
  try {
    const started = await waitFor(
      () => {
        const line = lines.find((l) => l.event === 'relay.started');
        if (line === undefined && exit !== null) throw new Error(`relay exited (${JSON.stringify(exit)}) before starting: ${out}${err}`);
        return line;
      },
      20_000,
      'relay.started line',
    );
    const port = started.details?.port as number;
    return { child, pid: child.pid as number, port, url: `ws://127.0.0.1:${port}`, dataDir, lines, stdout: () => out, stderr: () => err, exited, kill };
  } catch (e) {
    kill();
    throw e;
  }
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'kingdom-relay-test-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Polls `check` every 20 ms until it returns a value other than undefined/false; throws after `ms`. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function newRoomId(): string {
  return randomBytes(32).toString('hex');
}

export interface RoomKey {
  readonly pair: webcrypto.CryptoKeyPair;
  readonly publicKeyHex: string;
}

export async function newRoomKey(): Promise<RoomKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  return { pair, publicKeyHex: Buffer.from(raw).toString('hex') };
}

/** `k1.<expiresAtMs>.<publicKeyHex>.<signatureHex>` over `kingdom.relay/1\n<roomId>\n<expiresAtMs>`. */
export async function makeToken(key: RoomKey, roomId: string, expiresAtMs = Date.now() + 5 * 60_000): Promise<string> {
  const text = `kingdom.relay/1\n${roomId}\n${expiresAtMs}`;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, key.pair.privateKey, new TextEncoder().encode(text)));
  return `k1.${expiresAtMs}.${key.publicKeyHex}.${Buffer.from(sig).toString('hex')}`;
}

export async function health(relay: RelayProcess): Promise<{
  ok: boolean;
  rooms: number;
  connections: number;
  uptimeMs: number;
  refused: { auth: number; size: number; rate: number; malformed: number };
  redis?: 'up' | 'down';
}> {
  const res = await fetch(`http://127.0.0.1:${relay.port}/healthz`);
  // 503 carries the same body, with ok: false (stopping, or Redis down).
  if (res.status !== 200 && res.status !== 503) throw new Error(`healthz answered ${res.status}`);
  return (await res.json()) as never;
}

export interface Client {
  readonly doc: Y.Doc;
  readonly chunks: Y.Map<Uint8Array>;
  readonly provider: WebsocketProvider;
  readonly closes: { code: number; reason: string }[];
  synced(ms?: number): Promise<void>;
  destroy(): void;
}

/** A y-websocket client (the app's transport) on room `roomId`, with a Y.Map 'chunks'. */
export function connectClient(relay: { url: string }, roomId: string, token: string): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(relay.url, roomId, doc, {
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    params: { token },
    maxBackoffTime: 300,
  });
  const closes: { code: number; reason: string }[] = [];
  provider.on('connection-close', (event: unknown) => {
    const e = event as { code?: number; reason?: string } | null;
    closes.push({ code: e?.code ?? 0, reason: e?.reason ?? '' });
  });
  return {
    doc,
    chunks: doc.getMap<Uint8Array>('chunks'),
    provider,
    closes,
    synced: (ms = 10_000) => waitFor(() => provider.synced, ms, `client of room ${roomId.slice(0, 8)} to sync`).then(() => undefined),
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** A chunk value like the app's: `size` deterministic bytes derived from `seed`. */
export function chunkBytes(seed: number, size = 200): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The room's stored and torn files in the data dir (none for a room the relay never accepted). */
export async function roomFiles(dataDir: string, roomId: string): Promise<string[]> {
  try {
    return (await readdir(join(dataDir, 'rooms'))).filter((f) => f.startsWith(roomId)).sort();
  } catch {
    return [];
  }
}

export function logPath(dataDir: string, roomId: string): string {
  return join(dataDir, 'rooms', `${roomId}.log`);
}

/** The HTTP status a WebSocket upgrade to `path` gets (101 when it opens; the socket is then closed). */
export function upgradeStatus(relay: RelayProcess, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${relay.url}${path}`);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer to the upgrade of ${path.slice(0, 12)}`));
    }, 10_000);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      clearTimeout(timer);
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}

export interface RawClient {
  readonly ws: WebSocket;
  readonly received: Uint8Array[];
  /** Resolves with the close code and reason; rejects if the socket is still open after `ms`. */
  closed(ms?: number): Promise<{ code: number; reason: string }>;
  isOpen(): boolean;
}

/** A raw WebSocket on room `roomId`: the test writes frames by hand. Resolves once open. */
export function rawClient(relay: RelayProcess, roomId: string, token: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${relay.url}/${roomId}?token=${token}`);
    const received: Uint8Array[] = [];
    const closedPromise = new Promise<{ code: number; reason: string }>((res) => ws.on('close', (code, reason) => res({ code, reason })));
    const closed = (ms = 10_000) =>
      Promise.race([
        closedPromise,
        new Promise<never>((_, rej) =>
          setTimeout(() => {
            ws.terminate();
            rej(new Error(`the relay did not close the connection within ${ms} ms`));
          }, ms).unref(),
        ),
      ]);
    ws.on('message', (data) => received.push(new Uint8Array(data as Buffer)));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('open', () => resolve({ ws, received, closed, isOpen: () => ws.readyState === WebSocket.OPEN }));
  });
}

/** y-websocket wire format: sync (0) / update (2) carrying one Yjs update. */
export function syncUpdateMessage(update: Uint8Array): Uint8Array {
  return concat([varUint(0), varUint(2), varUint(update.length), update]);
}

/** y-websocket wire format: an awareness message (1) with no states (cheap, valid). */
export function emptyAwarenessMessage(): Uint8Array {
  return Uint8Array.from([1, 1, 0]);
}

/** A Yjs update that sets chunks[key] = value on a fresh doc (what one client publish sends). */
export function chunkUpdate(key: string, value: Uint8Array): Uint8Array {
  const doc = new Y.Doc();
  doc.getMap<Uint8Array>('chunks').set(key, value);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

function varUint(n: number): Uint8Array {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push(0x80 | (n & 0x7f));
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

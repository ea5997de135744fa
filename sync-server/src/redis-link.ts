/**
 * The relay's connections to Redis (ioredis, RESP2), whether Redis is reachable, the key names
 * of a room, and the parsing of stream replies.
 *
 * Three connections: `cmd` for appends, loads, pins and counters; `reader` for the blocking
 * XREAD of every room this process holds (redis-store.ts); `compactor` for the WATCH/MULTI of
 * compactions (a WATCH belongs to its connection, so it gets its own).
 *
 * Invariants:
 * 1. Commands fail fast instead of waiting for Redis: no offline queue, no resend of commands
 *    that were in flight when the connection broke, and a command timeout. A failed append
 *    fails its room (its connections end with 1011); the relay never holds updates in memory
 *    waiting for Redis to come back.
 * 2. `up` is true while the command connection is ready. Going down is logged once
 *    (`redis.down`, with the error) and reported to `onDown`; coming back is logged
 *    (`redis.up`). The clients reconnect by themselves forever, with a backoff of at most 2 s.
 *    A Redis that hangs without closing is caught by a PING every PING_MS: one that times out
 *    cuts the command connection, which then counts as down until Redis answers again.
 * 3. Key names never contain a room id: a room's keys are named by SHA-256 of its id, so Redis
 *    (and its dumps and backups) holds no room's bearer name. The hash tag keeps a room's keys
 *    in one cluster slot.
 * 4. Nothing logged here carries the URL's password.
 */
import { createHash } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { describeError, type Logger } from './log.ts';

/** Redis 6.2 brought XTRIM MINID, which compaction uses. */
const MIN_VERSION = [6, 2];
const COMMAND_TIMEOUT_MS = 5000;
const PING_MS = 2000;

export interface RoomKeys {
  readonly updates: string;
  readonly snapshot: string;
  readonly bytes: string;
  readonly pin: string;
}

export function roomKeys(roomId: string): RoomKeys {
  const h = createHash('sha256').update(`kingdom.relay.room/1\n${roomId}`).digest('hex').slice(0, 40);
  const base = `kingdom:room:{${h}}`;
  return { updates: `${base}:updates`, snapshot: `${base}:snapshot`, bytes: `${base}:bytes`, pin: `${base}:pin` };
}

/** `host:port` of a Redis URL, for logs (never its user or password). */
export function redisAddress(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port === '' ? '6379' : u.port}`;
}

export class RedisLink {
  readonly cmd: Redis;
  readonly reader: Redis;
  readonly compactor: Redis;
  #up = false;
  #everUp = false;
  #lastError = '';
  #closing = false;
  #pinger: NodeJS.Timeout | null = null;
  readonly #onDown = new Set<() => void>();

  constructor(
    readonly url: string,
    readonly log: Logger,
  ) {
    const options: RedisOptions = {
      protocol: 2,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: 5000,
      retryStrategy: (times) => Math.min(100 * times, 2000),
      lazyConnect: true,
    };
    this.cmd = new Redis(url, { ...options, connectionName: 'kingdom-relay' });
    // The reader blocks for up to BLOCK ms by design: no command timeout there.
    this.reader = new Redis(url, { ...options, commandTimeout: undefined, connectionName: 'kingdom-relay-reader' });
    this.compactor = new Redis(url, { ...options, connectionName: 'kingdom-relay-compactor' });
    for (const client of [this.reader, this.compactor]) client.on('error', () => {});
    this.cmd.on('error', (err: Error) => {
      this.#lastError = err.message;
    });
    this.cmd.on('ready', () => {
      const wasDown = this.#everUp && !this.#up;
      this.#up = true;
      this.#everUp = true;
      if (wasDown) this.log('info', 'redis.up', { details: { redis: redisAddress(url) } });
    });
    this.cmd.on('close', () => this.#down());
  }

  get up(): boolean {
    return this.#up;
  }

  /** Called (synchronously) each time Redis goes from reachable to unreachable. */
  onDown(listener: () => void): void {
    this.#onDown.add(listener);
  }

  /** Connects all three clients and checks the server's version; throws if Redis cannot be used. */
  async connect(): Promise<void> {
    try {
      await Promise.all([this.cmd.connect(), this.reader.connect(), this.compactor.connect()]);
    } catch (err) {
      throw new Error(`cannot reach Redis at ${redisAddress(this.url)}: ${describeError(err).message || this.#lastError}`);
    }
    const info = String(await this.cmd.info('server'));
    const version = /redis_version:(\d+)\.(\d+)/.exec(info);
    const [major, minor] = [Number(version?.[1] ?? 0), Number(version?.[2] ?? 0)];
    if (major < (MIN_VERSION[0] as number) || (major === MIN_VERSION[0] && minor < (MIN_VERSION[1] as number))) {
      throw new Error(`Redis at ${redisAddress(this.url)} is version ${major}.${minor}; the relay needs ${MIN_VERSION.join('.')} or later`);
    }
    this.#pinger = setInterval(() => {
      if (!this.#up) return;
      this.cmd.ping().catch((err: unknown) => {
        if (!this.#up || this.#closing) return;
        this.#lastError = `PING failed: ${describeError(err).message}`;
        this.cmd.disconnect(true);
      });
    }, PING_MS);
    this.#pinger.unref();
  }

  /** Closes every connection (graceful stop). */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#pinger !== null) clearInterval(this.#pinger);
    // QUIT lets replies in flight arrive; a Redis that does not answer gets 1 s, then the cut.
    await Promise.race([Promise.allSettled([this.cmd.quit(), this.compactor.quit()]), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
    for (const client of [this.cmd, this.reader, this.compactor]) client.disconnect();
  }

  #down(): void {
    if (!this.#up) return;
    this.#up = false;
    if (this.#closing) return;
    this.log('error', 'redis.down', { details: { redis: redisAddress(this.url), error: this.#lastError || 'connection closed' } });
    for (const listener of this.#onDown) listener();
  }
}

/** One stream entry: its id and its field/value pairs. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: Map<string, Buffer>;
}

/** Parses an XRANGE reply (RESP2, buffers): [[id, [field, value, ...]], ...]. */
export function parseEntries(reply: unknown): StreamEntry[] {
  if (!Array.isArray(reply)) throw new Error('unexpected XRANGE reply from Redis');
  return reply.map((raw: unknown) => {
    if (!Array.isArray(raw) || raw.length !== 2 || !Array.isArray(raw[1])) throw new Error('unexpected stream entry from Redis');
    const flat = raw[1] as unknown[];
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set(String(flat[i]), asBuffer(flat[i + 1]));
    return { id: String(raw[0]), fields };
  });
}

/** Parses an XREAD reply (RESP2, buffers): null or [[key, entries], ...]. */
export function parseXread(reply: unknown): { key: string; entries: StreamEntry[] }[] {
  if (reply === null) return [];
  if (!Array.isArray(reply)) throw new Error('unexpected XREAD reply from Redis');
  return reply.map((raw: unknown) => {
    if (!Array.isArray(raw) || raw.length !== 2) throw new Error('unexpected XREAD stream from Redis');
    return { key: String(raw[0]), entries: parseEntries(raw[1]) };
  });
}

export function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  throw new Error('unexpected value from Redis');
}

/** Orders two stream ids (`<ms>-<seq>`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  return am !== bm ? am - bm : as - bs;
}

/** The smallest id after `id` (XTRIM MINID with it removes `id` and everything before). */
export function nextId(id: string): string {
  const [ms, seq] = splitId(id);
  return `${ms}-${seq + 1}`;
}

function splitId(id: string): [number, number] {
  const dash = id.indexOf('-');
  return dash === -1 ? [Number(id), 0] : [Number(id.slice(0, dash)), Number(id.slice(dash + 1))];
}

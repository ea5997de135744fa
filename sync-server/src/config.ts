/**
 * The relay's settings, from command-line flags and the environment (flags win).
 *
 * Invariants:
 * 1. Defaults live here once (DEFAULTS); docs/relay.md lists the same table.
 * 2. A bad or unknown flag is a ConfigError naming the flag and what it accepts; the relay then
 *    does not start.
 * 3. Environment variables that would make @y/websocket-server persist or post documents on its
 *    own (YPERSISTENCE, CALLBACK_URL) are refused.
 * 4. `redis` is null (one relay, rooms in files under dataDir) unless --redis-url or REDIS_URL
 *    names a redis:// or rediss:// URL: then rooms, pins and room sizes live in Redis, shared
 *    by every relay given the same URL (redis-store.ts).
 */
import type { RateLimits } from './limits.ts';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  /** Largest incoming WebSocket message (bytes). */
  readonly maxMessageBytes: number;
  /** Largest room log (bytes); an update that would pass it is refused. */
  readonly maxRoomBytes: number;
  readonly rates: RateLimits;
  /** Group commit: how long a room's first pending append waits for others before the write + fdatasync (0 = the next turn of the event loop). */
  readonly flushWindowMs: number;
  /** How long shutdown waits for sockets to close before cutting them. */
  readonly shutdownGraceMs: number;
  /** Scale-out through Redis (redis-store.ts), or null for one relay with rooms in files. */
  readonly redis: RedisConfig | null;
}

export interface RedisConfig {
  readonly url: string;
  /** Compact a room's stream into its snapshot once it holds this many entries (0 = never). */
  readonly compactEntries: number;
}

const MiB = 1024 * 1024;

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 4444,
  data: './relay-data',
  'max-message-bytes': 1 * MiB,
  'max-room-bytes': 256 * MiB,
  'rate-token-messages': 200,
  'rate-token-burst': 2000,
  'rate-token-bytes': 16 * MiB,
  'rate-addr-messages': 400,
  'rate-addr-burst': 4000,
  'rate-addr-bytes': 32 * MiB,
  'rate-connects': 10,
  'flush-window-ms': 0,
  'redis-url': '',
  'redis-compact-entries': 1000,
} as const;

type Flag = keyof typeof DEFAULTS;

export const USAGE = `kingdom sync relay

  npm run relay -- [flags]        (or: npm --prefix sync-server start -- [flags])

  --host <addr>                 listen address (env HOST; default ${DEFAULTS.host})
  --port <n>                    port, 0 = any free port (env PORT; default ${DEFAULTS.port})
  --data <dir>                  data directory (env DATA_DIR; default ${DEFAULTS.data})
  --max-message-bytes <n>       largest incoming message (default ${DEFAULTS['max-message-bytes']})
  --max-room-bytes <n>          largest stored room (default ${DEFAULTS['max-room-bytes']})
  --rate-token-messages <n>     messages/s per relay token (default ${DEFAULTS['rate-token-messages']})
  --rate-token-burst <n>        message burst per token (default ${DEFAULTS['rate-token-burst']})
  --rate-token-bytes <n>        bytes/s per token; burst 8 s worth (default ${DEFAULTS['rate-token-bytes']})
  --rate-addr-messages <n>      messages/s per client address (default ${DEFAULTS['rate-addr-messages']})
  --rate-addr-burst <n>         message burst per address (default ${DEFAULTS['rate-addr-burst']})
  --rate-addr-bytes <n>         bytes/s per address; burst 8 s worth (default ${DEFAULTS['rate-addr-bytes']})
  --rate-connects <n>           connection attempts/s per address; burst 10 s worth (default ${DEFAULTS['rate-connects']})
  --flush-window-ms <n>         group commit: wait up to n ms to batch a room's appends into one
                                fdatasync; clients see updates only after it (default ${DEFAULTS['flush-window-ms']})
  --redis-url <url>             share rooms with every relay on this Redis (env REDIS_URL;
                                redis://[user:pass@]host:port[/db]; default: none, rooms in --data)
  --redis-compact-entries <n>   merge a room's Redis stream into its snapshot past n entries,
                                0 = never (default ${DEFAULTS['redis-compact-entries']})
  --help                        this text
`;

export class ConfigError extends Error {}

export type Parsed = { readonly help: true } | { readonly help: false; readonly config: Config };

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  for (const name of ['YPERSISTENCE', 'CALLBACK_URL'] as const) {
    if (env[name] !== undefined) throw new ConfigError(`${name} is set: the relay persists rooms itself and posts nothing anywhere; unset ${name}`);
  }
  const given = new Map<Flag, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return { help: true };
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument "${arg}" (flags look like --port 4444; see --help)`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!(name in DEFAULTS)) throw new ConfigError(`unknown flag --${name} (see --help)`);
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new ConfigError(`--${name} needs a value`);
    given.set(name as Flag, value);
  }
  const text = (flag: Flag, envName?: string): string => given.get(flag) ?? (envName === undefined ? undefined : env[envName]) ?? String(DEFAULTS[flag]);
  const int = (flag: Flag, min: number, max: number, envName?: string): number => {
    const raw = text(flag, envName);
    const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new ConfigError(`--${flag}${envName === undefined ? '' : ` (env ${envName})`} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
  const host = text('host', 'HOST');
  if (host.length === 0) throw new ConfigError('--host (env HOST) must not be empty');
  const dataDir = text('data', 'DATA_DIR');
  if (dataDir.length === 0) throw new ConfigError('--data (env DATA_DIR) must not be empty');
  const maxMessageBytes = int('max-message-bytes', 1024, 1024 * MiB);
  const maxRoomBytes = int('max-room-bytes', 1024, Number.MAX_SAFE_INTEGER);
  const bytes = (flag: Flag) => {
    const perSecond = int(flag, 1, Number.MAX_SAFE_INTEGER);
    // A burst always fits one largest message, or such a message could never pass.
    return { perSecond, burst: Math.max(8 * perSecond, maxMessageBytes) };
  };
  const connects = int('rate-connects', 1, 1_000_000);
  const redisUrl = text('redis-url', 'REDIS_URL');
  if (redisUrl !== '' && !isRedisUrl(redisUrl)) {
    throw new ConfigError('--redis-url (env REDIS_URL) must be a redis:// or rediss:// URL with a host, e.g. redis://127.0.0.1:6379');
  }
  const compactEntries = int('redis-compact-entries', 0, 1_000_000_000);
  return {
    help: false,
    config: {
      host,
      port: int('port', 0, 65535, 'PORT'),
      dataDir,
      maxMessageBytes,
      maxRoomBytes,
      rates: {
        tokenMessages: { perSecond: int('rate-token-messages', 1, 1_000_000), burst: int('rate-token-burst', 1, 100_000_000) },
        tokenBytes: bytes('rate-token-bytes'),
        addrMessages: { perSecond: int('rate-addr-messages', 1, 1_000_000), burst: int('rate-addr-burst', 1, 100_000_000) },
        addrBytes: bytes('rate-addr-bytes'),
        addrConnects: { perSecond: connects, burst: 10 * connects },
      },
      flushWindowMs: int('flush-window-ms', 0, 1000),
      shutdownGraceMs: 3000,
      redis: redisUrl === '' ? null : { url: redisUrl, compactEntries },
    },
  };
}

function isRedisUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

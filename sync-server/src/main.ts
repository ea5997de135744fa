/**
 * The relay's entry point: `tsx src/main.ts [flags]` (npm start, or `npm run relay --` at the
 * repository root).
 *
 * Invariants:
 * 1. The first line on stdout is `relay.started` with the bound host and port (tests and
 *    scripts read it), or the process exits non-zero after one `relay.start_failed` line.
 * 2. SIGTERM or SIGINT: stop accepting, close sockets with 1001, flush and fsync every room,
 *    log `relay.stopped`, exit 0. A second signal while stopping is logged and ignored.
 */
import { ConfigError, parseConfig, USAGE } from './config.ts';
import { DataDirInUse } from './data-dir.ts';
import { createLogger, describeError } from './log.ts';

const log = createLogger();

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log('error', 'relay.start_failed', { details: { error: err.message } });
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    return;
  }
  const { config } = parsed;
  // Imported only now: @y/websocket-server reads its environment when first loaded, and
  // parseConfig has refused the variables that would change what it does.
  const { startRelay } = await import('./server.ts');
  let relay;
  try {
    relay = await startRelay(config, log);
  } catch (err) {
    log('error', 'relay.start_failed', { details: { error: describeError(err) } });
    process.exit(err instanceof DataDirInUse ? 3 : 1);
  }
  log('info', 'relay.started', {
    addr: `${relay.host}:${relay.port}`,
    details: {
      host: relay.host,
      port: relay.port,
      pid: process.pid,
      dataDir: config.dataDir,
      ...relay.backend,
      maxMessageBytes: config.maxMessageBytes,
      maxRoomBytes: config.maxRoomBytes,
      flushWindowMs: config.flushWindowMs,
      rates: config.rates,
    },
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log('warn', 'relay.signal_ignored', { details: { signal, why: 'already stopping' } });
      return;
    }
    stopping = true;
    log('info', 'relay.stopping', { details: { signal } });
    void relay.stop().then(() => {
      log('info', 'relay.stopped', { details: { signal } });
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  log('error', 'relay.crashed', { details: { error: describeError(err) } });
  process.exit(1);
});

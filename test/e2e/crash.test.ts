/**
 * Crash durability in real Chromium (the brief's g): Chromium is started by this test as a child
 * process on a real profile (OPFS on disk), the app fires commands in a loop and reports every
 * acknowledged idempotency key to Node as soon as the kernel answers; at a seeded random moment the
 * whole Chromium process group gets SIGKILL. After a relaunch on the same profile every
 * acknowledged command must still be there (re-sending it with the same key answers
 * `replayed: true`), `verify()` must pass and `rebuild()` must reproduce every projection.
 *
 * Seeds are printed; rerun one with KINGDOM_E2E_SEEDS=123,456,789.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailable } from '../helpers/chromium.ts';
import { Cleanup, pollUntil, sleep, withTimeout } from './support.ts';
import { serveTarget, target } from './app-support.ts';
import { KingdomApiPage, unwrap } from './pages/kingdom-api.ts';
import type { CommandResult } from '../../worker/api.ts';
import { mulberry32 } from '../helpers/prng.ts';

const ROUNDS = 3;
/** Upper bound of commands one round may fire (the loop is killed long before, normally). */
const MAX_COMMANDS_PER_ROUND = 4000;

interface Launched {
  readonly child: ChildProcess;
  readonly browser: Browser;
  readonly page: Page;
}

/** Start /usr/bin/chromium ourselves (own process group) and connect over CDP. */
async function startChromium(profileDir: string, cleanup: Cleanup): Promise<Launched> {
  const child = spawn(CHROMIUM_PATH, [...CHROMIUM_ARGS, `--user-data-dir=${profileDir}`, '--remote-debugging-port=0', 'about:blank'], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  assert.ok(pid, 'chromium started');
  cleanup.add(`kill chromium group ${pid}`, () => killGroup(pid));
  let stderr = '';
  const wsUrl = await withTimeout(new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`chromium exited early (${code ?? signal}): ${stderr.slice(-2000)}`)));
  }), 30_000, 'chromium to print its DevTools URL');
  child.stderr!.removeAllListeners('data');
  child.stderr!.resume(); // keep draining so chromium never blocks on a full pipe
  const browser = await chromium.connectOverCDP(wsUrl, { timeout: 30_000 });
  const context = browser.contexts()[0];
  assert.ok(context, 'the default (profile) context');
  const page = await context.newPage();
  return { child, browser, page };
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL the whole process group and wait (bounded) until no member is left. */
async function killGroup(pgid: number): Promise<void> {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    return; // already gone
  }
  await pollUntil(() => !groupAlive(pgid), { timeoutMs: 15_000, intervalMs: 25, what: `chromium process group ${pgid} to exit` });
}

describe('crash: SIGKILL of Chromium mid-write loses no acknowledged command', { timeout: 240_000 }, () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test(`${ROUNDS} seeded kill/relaunch rounds on one profile`, async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH}`);
    const t = target();
    const server = await serveTarget(t, cleanup);
    const profile = cleanup.tempDir('kingdom-e2e-crash-');
    const seeds = (process.env['KINGDOM_E2E_SEEDS'] ?? '')
      .split(',').filter(Boolean).map(Number);
    while (seeds.length < ROUNDS) seeds.push(Math.floor(Math.random() * 2 ** 31));
    console.log(`crash seeds: ${seeds.join(',')} (rerun with KINGDOM_E2E_SEEDS=${seeds.join(',')})`);

    /** Every key the kernel acknowledged, with the exact command (to re-send it identically). */
    const acked = new Map<string, string>();

    async function checkEverythingAcked(api: KingdomApiPage, label: string): Promise<void> {
      const info = await api.info();
      assert.equal(info.storage, 'opfs', `${label}: durable storage (${info.fallbackReason})`);
      const keys = [...acked.keys()];
      const notReplayed: string[] = [];
      for (let i = 0; i < keys.length; i += 200) {
        const chunk = keys.slice(i, i + 200);
        const results: CommandResult[] = unwrap(await api.commandBatch(chunk.map((k) => ({
          type: 'workspace.create', payload: { name: acked.get(k)! }, idempotencyKey: k,
        }))), `${label}: re-send acknowledged commands`);
        results.forEach((r, j) => {
          if (!r.replayed) notReplayed.push(chunk[j]!);
        });
      }
      assert.deepEqual(notReplayed.slice(0, 20), [], `${label}: ${notReplayed.length} of ${keys.length} acknowledged commands were lost`);
      const names = new Set((await api.workspaces()).map((w) => w.name));
      const missing = [...acked.values()].filter((n) => !names.has(n));
      assert.deepEqual(missing.slice(0, 20), [], `${label}: acknowledged workspaces missing from the projection`);
      const report = await api.verifyOrThrow();
      assert.ok(report.ok, `${label}: verify() ${JSON.stringify(report.broken)}`);
      const rebuilt = await api.rebuildOrThrow();
      const differing = rebuilt.projections.filter((p) => !p.identical).map((p) => p.name);
      assert.deepEqual(differing, [], `${label}: rebuild() changed projections`);
      console.log(`${label}: ${keys.length} acknowledged commands present, verify ok (${report.events} events), rebuild identical`);
    }

    for (let round = 0; round <= ROUNDS; round++) {
      const { child, browser, page } = await startChromium(profile, cleanup);
      const api = new KingdomApiPage(page);
      const roundAcks: string[] = [];
      await page.exposeFunction('__kingdomAck', (key: string, name: string) => {
        acked.set(key, name);
        roundAcks.push(key);
      });
      await page.goto(`${server.url}${t.entry}`);
      await api.ready(30_000);
      await checkEverythingAcked(api, `round ${round} start`);
      if (round === ROUNDS) {
        await browser.close().catch(() => {});
        await killGroup(child.pid!);
        break;
      }

      const seed = seeds[round]!;
      const rng = mulberry32(seed);
      const killAfterMs = 50 + Math.floor(rng() * 1500);
      const lanes = 1 + Math.floor(rng() * 4);
      console.log(`round ${round}: seed ${seed}, ${lanes} concurrent lanes, SIGKILL ${killAfterMs} ms after the first ack`);
      // The write loop: `lanes` concurrent senders, single commands and small batches (all or
      // nothing), each acknowledged key reported to Node the moment its result arrives.
      await page.evaluate(([prefix, nLanes, max, batchEvery]) => {
        const w = window as unknown as { kingdomDevHook: { api: any }; __kingdomAck: (k: string, n: string) => Promise<void>; __crashLoop: unknown };
        let n = 0;
        // (Anonymous functions only: tsx's keepNames would wrap named ones in an undefined __name.)
        w.__crashLoop = Promise.all(Array.from({ length: nLanes as number }, async (_, l) => {
          for (let step = 0; n < (max as number); step++) {
            const size = step % (batchEvery as number) === (batchEvery as number) - 1 ? 5 : 1;
            const cmds = Array.from({ length: size }, () => {
              const name = `${prefix}-${l}-${n++}`;
              return { type: 'workspace.create', payload: { name }, idempotencyKey: `key-${name}` };
            });
            const r = size === 1 ? await w.kingdomDevHook.api.command(cmds[0]) : await w.kingdomDevHook.api.commandBatch(cmds);
            if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
            for (const c of cmds) void w.__kingdomAck(c.idempotencyKey, c.payload.name);
          }
        }));
      }, [`crash-${seed}`, lanes, MAX_COMMANDS_PER_ROUND, 2 + Math.floor(rng() * 6)] as const);
      await pollUntil(() => roundAcks.length > 0, { timeoutMs: 20_000, intervalMs: 5, what: 'the first acknowledged command' });
      await sleep(killAfterMs);
      const ackedBeforeKill = roundAcks.length;
      await killGroup(child.pid!);
      console.log(`round ${round}: killed with ${ackedBeforeKill} acknowledged commands this round (${acked.size} in total)`);
      assert.ok(ackedBeforeKill < MAX_COMMANDS_PER_ROUND, 'the loop was still running when killed');
      await browser.close().catch(() => {});
    }
  });
});

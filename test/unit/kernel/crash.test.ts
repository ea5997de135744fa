/**
 * Crash safety of the file-backed kernel: a child process issues commands and is SIGKILLed at
 * random points; the parent reopens the database and checks what was acknowledged.
 *
 * Run: node --import tsx --test test/unit/kernel/crash.test.ts
 * Reproduce a failure: KINGDOM_CRASH_SEED=<seed printed in the failure> node --import tsx --test …
 *
 * Invariants checked (after every kill, on the same database file across rounds):
 * 1. Every acknowledged command is durable: re-sending it with the same idempotency key returns
 *    `replayed: true` with the same seqs, and those events are in the log.
 * 2. A command in flight at the kill is all-or-nothing (a batch replays entirely or not at all).
 * 3. `verify()` is ok and `rebuild()` reports every projection identical; projection heads equal
 *    the log head (nothing needed replaying on open).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKernel } from '../../../worker/node/index.ts';
import type { CommandInput } from '../../../worker/kernel/commands/envelope.ts';
import { withTempDir } from '../../helpers/kernel.ts';
import { mulberry32 } from '../../helpers/prng.ts';
import { watchChild } from '../../helpers/child-lines.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../helpers/kernel-crash-child.ts', import.meta.url));
const MAX_COMMANDS = 300;

interface Ack { readonly ack: string; readonly seqs: number[]; readonly cmds: CommandInput[] }
interface Intent { readonly intent: string; readonly cmds: CommandInput[] }

interface ChildRun {
  readonly acks: Ack[];
  readonly inFlight: Intent | null;
  readonly killed: boolean;
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly done: boolean;
}

/**
 * Run the child on `file`. `killAt`: 'spawn' kills at once, 'ready' right after the kernel opened,
 * a number after that many acks, 'never' lets it finish by itself.
 */
function runChild(file: string, seed: number, round: number, killAt: 'spawn' | 'ready' | number | 'never', max: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, String(max), String(seed), String(round)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let lastIntent: Intent | null = null;
    let killed = false;
    let done = false;
    let stderr = '';
    const kill = () => {
      if (!killed) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    if (killAt === 'spawn') kill();
    // A partial last line (the process died mid-write) is not an acknowledgement: never delivered.
    watchChild<Partial<Ack & Intent & { ready: boolean; done: boolean }>>(child, (msg) => {
      if (msg.ready && killAt === 'ready') kill();
      if (msg.intent !== undefined) lastIntent = msg as Intent;
      if (msg.ack !== undefined) {
        acks.push(msg as Ack);
        if (typeof killAt === 'number' && acks.length >= killAt) kill();
      }
      if (msg.done) done = true;
    }, (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      const inFlight = lastIntent && !acks.some((a) => a.ack === lastIntent!.intent) ? lastIntent : null;
      resolve({ acks, inFlight, killed, exitCode, stderr, done });
    });
  });
}

async function checkAfterCrash(file: string, run: ChildRun, ctx: string): Promise<void> {
  const k = await openKernel({ storage: { file } });
  try {
    const status = k.status();
    for (const p of status.projections) assert.equal(p.headSeq, status.headSeq, `${ctx}: projection ${p.name} head equals the log head`);

    for (const a of run.acks) {
      const results = a.cmds.length === 1 ? [k.command(a.cmds[0]!)] : k.commandBatch(a.cmds);
      for (const r of results) assert.equal(r.replayed, true, `${ctx}: acknowledged command ${a.ack} (${r.type}) was lost`);
      const seqs = results.flatMap((r) => r.events.map((e) => e.seq));
      assert.deepEqual(seqs, a.seqs, `${ctx}: acknowledged command ${a.ack} replays with the same seqs`);
      for (const r of results) {
        for (const e of r.events) {
          const stored = k.readEvents(e.seq - 1, 1)[0];
          assert.ok(stored, `${ctx}: event ${e.seq} of ${a.ack} is in the log`);
          assert.equal(stored.id, e.id);
          assert.equal(stored.stream, e.stream);
        }
      }
    }

    const report = await k.verify();
    assert.equal(report.ok, true, `${ctx}: verify failed: ${JSON.stringify(report.broken)}`);

    if (run.inFlight) {
      // Committed or not, it is all or nothing: every command of it has the same replayed flag.
      const cmds = run.inFlight.cmds;
      const results = cmds.length === 1 ? [k.command(cmds[0]!)] : k.commandBatch(cmds);
      const flags = new Set(results.map((r) => r.replayed));
      assert.equal(flags.size, 1, `${ctx}: in-flight ${run.inFlight.intent} was partially committed`);
    }

    const rebuild = k.rebuild();
    for (const p of rebuild.projections) assert.equal(p.identical, true, `${ctx}: projection ${p.name} differs after rebuild`);
    const after = await k.verify();
    assert.equal(after.ok, true, `${ctx}: verify after rebuild failed: ${JSON.stringify(after.broken)}`);
  } finally {
    await k.close();
  }
}

test('acknowledged commands survive SIGKILL at random points and the log stays verifiable', { timeout: 120_000 }, async (t) => {
  const seed = process.env['KINGDOM_CRASH_SEED'] ? Number(process.env['KINGDOM_CRASH_SEED']) : Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (rerun with KINGDOM_CRASH_SEED=${seed})`);
  const rand = mulberry32(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const schedule: ('spawn' | 'ready' | number | 'never')[] = [
    'spawn', 'ready', between(1, 5), between(6, 60), between(61, 150),
  ];
  await withTempDir(async (dir) => {
    const file = join(dir, 'crash.db');
    let total = 0;
    for (const [round, killAt] of schedule.entries()) {
      const max = killAt === 'never' ? 25 : MAX_COMMANDS;
      const run = await runChild(file, seed, round, killAt, max);
      const ctx = `seed ${seed}, round ${round}, kill at ${String(killAt)}, ${run.acks.length} acks${run.inFlight ? `, ${run.inFlight.cmds.length} command(s) in flight` : ''}`;
      t.diagnostic(ctx);
      if (!run.killed) {
        assert.equal(run.exitCode, 0, `${ctx}: child failed on its own:\n${run.stderr}`);
        assert.equal(run.done, true, `${ctx}: child ended without finishing`);
        assert.equal(run.acks.length, max);
      } else if (typeof killAt === 'number') {
        assert.ok(run.acks.length >= Math.min(killAt, MAX_COMMANDS) || run.exitCode === 0, `${ctx}: child died early:\n${run.stderr}`);
      }
      total += run.acks.length;
      await checkAfterCrash(file, run, ctx);
    }
    assert.ok(total > 0, `seed ${seed}: some commands were acknowledged in total`);
  }, 'kingdom-crash-');
});

/**
 * Workflow-engine benchmarks, written once against an `EngineEnv` so Node (durable file VFS,
 * `Engine.start`) and Chromium (OPFS sahpool, the leader's `openBrowserKernel`, which starts the
 * engine itself) run identical code. Browser-safe: no node: imports.
 *
 * `engine-steps`: a 10-step no-op chain (step i dependsOn step i-1, `runner: noop`); N sessions
 * started in ONE commandBatch of `session.start`; wall time from that call until every session is
 * `succeeded` (every step's transitions committed durably). Reported as steps/s and against raw
 * single-row commits (one INSERT per autocommit transaction) measured in the same run on the same
 * storage, interleaved with the engine runs.
 */
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import type { Engine } from '../../../worker/engine/engine.ts';
import type { CommandInput } from '../../../worker/kernel/commands/envelope.ts';
import { createKernelSchema, EVENT_COLUMNS, insertSql, oo1Inserter, syntheticEventRow, type RawRow } from './raw.ts';
import { figure, type Env, type Figure } from './scenarios.ts';
import { median, now, round, yieldToLoop } from './stats.ts';

export const CHAIN_STEPS = 10;

/** engine-steps targets in steps/s, per environment. */
export const ENGINE_STEPS_TARGET = { node: 2_500, chromium: 1_000 } as const;

export interface EngineSizes {
  readonly steps: { readonly sessions: number; readonly reps: number; readonly rawCommits: number };
  readonly resume: { readonly sessions: number; readonly reps: number };
}

export function engineSizes(quick: boolean): EngineSizes {
  return quick
    ? { steps: { sessions: 200, reps: 2, rawCommits: 300 }, resume: { sessions: 200, reps: 2 } }
    : { steps: { sessions: 1000, reps: 3, rawCommits: 1500 }, resume: { sessions: 1000, reps: 5 } };
}

/** A kernel with an engine driving it. `engine` is null where the app starts it out of reach (browser leader). */
export interface Driven {
  readonly kernel: Kernel;
  readonly engine: Engine | null;
}

export interface EngineEnv extends Env {
  /** Open (creating) store `name` with the workflow engine running on it (default runners). */
  openDriven(name: string): Promise<Driven>;
}

/** The no-op chain: s1 → s2 → … → s<steps>, each `type: task, runner: noop`. */
export function chainWorkflow(steps = CHAIN_STEPS): string {
  let src = 'name: bench_chain\nversion: 1.0.0\nsteps:\n';
  for (let i = 1; i <= steps; i++) {
    src += `  - id: s${i}\n    type: task\n    runner: noop\n`;
    if (i > 1) src += `    dependsOn: [s${i - 1}]\n`;
  }
  return src;
}

/** One step that sleeps `ms` (demo.sleep), then a no-op: sessions that stay unfinished. */
export function sleepWorkflow(ms = 60_000): string {
  return `name: bench_sleep\nversion: 1.0.0\nsteps:\n  - id: nap\n    type: task\n    runner: demo.sleep\n    with: { ms: ${ms} }\n  - id: after\n    type: task\n    runner: noop\n    dependsOn: [nap]\n`;
}

let tagCounter = 0;

export function startCommands(n: number, source: string): CommandInput[] {
  const tag = `${Date.now().toString(36)}-${(++tagCounter).toString(36)}`;
  return Array.from({ length: n }, (_, i) => ({ type: 'session.start', payload: { source }, idempotencyKey: `bench-start-${tag}-${i}` }));
}

const countStatus = (k: Kernel, status: string): number => Number(k.sql.value('SELECT count(*) FROM sessions WHERE status = ?', [status]));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rows shaped like kernel events, for the raw single-row commit baseline. */
function rawRows(n: number): RawRow[] {
  const tag = Math.floor(Math.random() * 1e9).toString(36);
  return Array.from({ length: n }, (_, i) => syntheticEventRow(i, {
    stream: `session:s-${tag}-${i}`, type: 'step.started', actor: 'engine', payload: JSON.stringify({ step: `s${(i % 10) + 1}`, attempt: 1, runner: 'noop' }),
  }));
}

/** Raw baseline: `n` single-row INSERTs, each its own durable autocommit transaction. */
async function rawCommitsPerSec(env: Env, name: string, n: number): Promise<number> {
  await env.remove(name);
  const raw = await env.openRaw(name);
  createKernelSchema(raw.db);
  const ins = oo1Inserter(raw.db, insertSql('events', EVENT_COLUMNS));
  const rows = rawRows(n);
  try {
    env.settle();
    const t0 = now();
    for (const r of rows) ins.one(r);
    const ms = now() - t0;
    const got = Number(raw.db.selectValue('SELECT count(*) FROM events'));
    if (got !== n) throw new Error(`raw baseline wrote ${got} of ${n} rows`);
    return (n / ms) * 1000;
  } finally {
    ins.close();
    await raw.close();
    await env.remove(name);
  }
}

interface StepsRun {
  readonly ms: number;
  readonly startMs: number;
  readonly commits: number;
  readonly events: number;
  readonly engineFlushes: number | null;
  readonly engineCommits: number | null;
}

async function engineStepsRun(env: EngineEnv, name: string, sessions: number): Promise<StepsRun> {
  await env.remove(name);
  const { kernel: k, engine } = await env.openDriven(name);
  try {
    // Commits and events seen by a subscriber (one delivery per committed transaction with events).
    let commits = 0;
    let events = 0;
    let succeeded = 0;
    let allDone!: () => void;
    const whenAllDone = new Promise<void>((r) => { allDone = r; });
    const sub = k.subscribe((batch) => {
      commits++;
      events += batch.length;
      for (const e of batch) if (e.type === 'session.succeeded' && ++succeeded === sessions) allDone();
    });
    const cmds = startCommands(sessions, chainWorkflow());
    const stats0 = engine?.status();
    env.settle();
    const t0 = now();
    k.commandBatch(cmds);
    const startMs = now() - t0;
    if (engine) {
      // Steps/s counts until every session succeeded; the sessions' summary nodes (Forest
      // post-processing, written when the engine is quiet) are not steps and are not timed.
      await whenAllDone;
    } else {
      // Browser: the leader's engine is not reachable; poll a status count.
      while (countStatus(k, 'succeeded') < sessions) await sleep(2);
    }
    const ms = now() - t0;
    await engine?.idle();
    sub.close();
    const ok = countStatus(k, 'succeeded');
    const steps = Number(k.sql.value("SELECT count(*) FROM session_steps WHERE status = 'succeeded'"));
    if (ok !== sessions || steps !== sessions * CHAIN_STEPS) {
      throw new Error(`engine-steps: ${ok}/${sessions} sessions and ${steps}/${sessions * CHAIN_STEPS} steps succeeded`);
    }
    const stats1 = engine?.status();
    return {
      ms, startMs, commits, events,
      engineFlushes: stats0 && stats1 ? stats1.flushes - stats0.flushes : null,
      engineCommits: stats0 && stats1 ? stats1.commits - stats0.commits : null,
    };
  } finally {
    await k.close();
    await env.remove(name);
  }
}

export interface StepsOptions {
  readonly sessions: number;
  readonly reps: number;
  readonly rawCommits: number;
  /** steps/s target on this storage. */
  readonly target: number;
}

export async function benchEngineSteps(env: EngineEnv, o: StepsOptions): Promise<Figure[]> {
  const steps = o.sessions * CHAIN_STEPS;
  env.log(`engine-steps on ${env.storage}: ${o.sessions} sessions × ${CHAIN_STEPS} no-op steps, warm-up`);
  await engineStepsRun(env, 'engine-steps-warm', Math.min(o.sessions, 100));
  await rawCommitsPerSec(env, 'engine-raw-warm', Math.min(o.rawCommits, 100));
  const rates: number[] = [];
  const raws: number[] = [];
  const runs: StepsRun[] = [];
  for (let r = 0; r < o.reps; r++) {
    // Alternate which goes first, so both see similar I/O conditions.
    const doRaw = async () => raws.push(await rawCommitsPerSec(env, `engine-raw-${r}`, o.rawCommits));
    if (r % 2 === 1) await doRaw();
    const run = await engineStepsRun(env, `engine-steps-${r}`, o.sessions);
    runs.push(run);
    rates.push((steps / run.ms) * 1000);
    if (r % 2 === 0) await doRaw();
    env.log(`  rep ${r + 1}/${o.reps}: ${Math.round(run.ms)} ms (start batch ${Math.round(run.startMs)} ms) → ${Math.round(rates[r]!)} steps/s; ` +
      `${run.commits} commits, ${run.events} events` + (run.engineFlushes !== null ? `, engine flushes ${run.engineFlushes}, engine commits ${run.engineCommits}` : '') +
      `; raw ${Math.round(raws[r]!)} commits/s`);
    await yieldToLoop();
  }
  const mid = runs[rates.indexOf(median(rates))] ?? runs[0]!;
  return [
    figure({
      id: 'engine-steps',
      storage: env.storage,
      title: `engine: ${o.sessions} sessions × ${CHAIN_STEPS}-step no-op chain, started in one batch, until all succeeded (target ≥ ${o.target} steps/s)`,
      unit: 'steps/s',
      kernel: median(rates),
      baseline: median(raws),
      baselineName: 'raw 1-row INSERT, 1 commit each',
      target: { on: 'kernel', op: '>=', value: o.target },
      samples: { kernel: rates, baseline: raws },
      extra: {
        baselineUnit: 'commits/s',
        sessions: o.sessions,
        steps,
        wallMs: runs.map((x) => round(x.ms, 1)),
        startBatchMs: runs.map((x) => round(x.startMs, 1)),
        commitsPerRun: mid.commits,
        eventsPerRun: mid.events,
        eventsPerStep: round(mid.events / steps, 2),
        engineFlushes: mid.engineFlushes,
        engineCommits: mid.engineCommits,
        waitedWith: runs[0] && runs[0].engineFlushes !== null ? 'engine.idle()' : 'polling SELECT count(*) … status = succeeded every 2 ms',
      },
    }),
  ];
}

/**
 * Node side of the engine benchmarks: the driven file-VFS environment for `engine-steps`, and
 * `engine-resume` (Node file VFS only): a store holding N unfinished sessions (started with no
 * engine running; first step `demo.sleep` 60 s) is copied fresh for each repetition, then timed
 * from kernel open → Engine.start → the first `step.started` committed, and until every session's
 * first step has started. The kernel is closed right after (the engine stops and aborts the
 * sleeps, so nothing keeps the process alive).
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { fileEnv } from './node-env.ts';
import { sleepWorkflow, startCommands, type EngineEnv } from './engine.ts';
import { figure, type Figure } from './scenarios.ts';
import { median, now, round } from './stats.ts';

const SUFFIXES = ['', '-wal', '-journal', '.lock', '.device-key.json', '.device-key.json.anchor.json'] as const;

export function nodeEngineEnv(dir: string, log: (m: string) => void): EngineEnv & { path(name: string): string } {
  const base = fileEnv(dir, log);
  const path = (name: string) => join(dir, `${name}.sqlite3`);
  return {
    ...base,
    path,
    async openDriven(name) {
      const kernel = await openKernel({ storage: { file: path(name) } });
      const engine = Engine.start(kernel, { onError: (err) => log(`engine error: ${String(err)}`) });
      return { kernel, engine };
    },
  };
}

export interface ResumeOptions {
  readonly sessions: number;
  readonly reps: number;
}

/** Informational variant: Engine.start with a smaller `batch` (sessions per flush transaction). */
export const RESUME_SMALL_BATCH = 32;

interface ResumeRun {
  readonly openMs: number;
  readonly engineStartMs: number;
  readonly firstMs: number;
  readonly allMs: number;
  readonly bootOnlyMs: number;
}

function copyStore(from: string, to: string): void {
  for (const s of SUFFIXES) {
    rmSync(to + s, { force: true });
    if (s !== '.lock' && existsSync(from + s)) copyFileSync(from + s, to + s);
  }
}

function removeStore(p: string): void {
  for (const s of SUFFIXES) rmSync(p + s, { force: true });
}

async function resumeRun(env: ReturnType<typeof nodeEngineEnv>, template: string, name: string, sessions: number, batch?: number): Promise<ResumeRun> {
  const p = env.path(name);
  copyStore(template, p);
  env.settle();
  const t0 = now();
  const k = await openKernel({ storage: { file: p } });
  const t1 = now();
  let first = 0;
  let started = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const sub = k.subscribe((batch) => {
    if (started === 0) first = now();
    started += batch.length;
    if (started >= sessions) resolveAll();
  }, { filter: { types: ['step.started'] } });
  const engine = Engine.start(k, { onError: (err) => env.log(`engine error: ${String(err)}`), ...(batch ? { batch } : {}) });
  const t2 = now();
  const timeout = setTimeout(() => resolveAll(), 30_000);
  await all;
  const t3 = now();
  clearTimeout(timeout);
  sub.close();
  const nap = Number(k.sql.value("SELECT count(*) FROM session_steps WHERE key = 'nap' AND status = 'running'"));
  if (nap !== sessions) throw new Error(`engine-resume: ${nap}/${sessions} first steps running`);
  void engine;
  await k.close(); // stops the engine: aborts the sleeps (their timers are cleared), records nothing
  // Baseline: the same open alone (a fresh copy of the same store), no engine.
  copyStore(template, p);
  env.settle();
  const b0 = now();
  const kb = await openKernel({ storage: { file: p } });
  const bootOnlyMs = now() - b0;
  await kb.close();
  removeStore(p);
  return { openMs: t1 - t0, engineStartMs: t2 - t1, firstMs: first - t0, allMs: t3 - t0, bootOnlyMs };
}

export async function benchEngineResume(env: ReturnType<typeof nodeEngineEnv>, o: ResumeOptions): Promise<Figure[]> {
  env.log(`engine-resume on ${env.storage}: building a store with ${o.sessions} unfinished sessions (no engine running)`);
  const template = env.path('engine-resume-template');
  removeStore(template);
  const k = await openKernel({ storage: { file: template } });
  k.commandBatch(startCommands(o.sessions, sleepWorkflow(60_000)));
  const running = Number(k.sql.value("SELECT count(*) FROM sessions WHERE status = 'running'"));
  const events = k.store.committedHead.seq;
  await k.close();
  if (running !== o.sessions) throw new Error(`engine-resume: ${running}/${o.sessions} sessions running in the template`);
  const runs: ResumeRun[] = [];
  const small: ResumeRun[] = [];
  const show = (run: ResumeRun) => `open ${round(run.openMs, 1)} ms, Engine.start ${round(run.engineStartMs, 2)} ms, ` +
    `first step.started ${round(run.firstMs, 1)} ms, all ${o.sessions} ${round(run.allMs, 1)} ms (open alone ${round(run.bootOnlyMs, 1)} ms)`;
  try {
    await resumeRun(env, template, 'engine-resume-warm', o.sessions);
    for (let r = 0; r < o.reps; r++) {
      const run = await resumeRun(env, template, `engine-resume-${r}`, o.sessions);
      runs.push(run);
      env.log(`  rep ${r + 1}/${o.reps}: ${show(run)}`);
      const s2 = await resumeRun(env, template, `engine-resume-b${r}`, o.sessions, RESUME_SMALL_BATCH);
      small.push(s2);
      env.log(`      with batch ${RESUME_SMALL_BATCH}: ${show(s2)}`);
    }
  } finally {
    removeStore(template);
  }
  const m = (f: (x: ResumeRun) => number) => round(median(runs.map(f)), 3);
  const extra = {
    sessions: o.sessions, storeEvents: events,
    openMs: m((x) => x.openMs), engineStartMs: m((x) => x.engineStartMs), firstMs: m((x) => x.firstMs), allMs: m((x) => x.allMs),
  };
  return [
    figure({
      id: 'engine-resume.first',
      storage: env.storage,
      title: `resume: kernel open → Engine.start → first step.started committed, ${o.sessions} unfinished sessions (target ≤ 100 ms)`,
      unit: 'ms',
      kernel: median(runs.map((x) => x.firstMs)),
      baseline: median(runs.map((x) => x.bootOnlyMs)),
      baselineName: 'kernel open alone, same store',
      target: { on: 'kernel', op: '<=', value: 100 },
      samples: { kernel: runs.map((x) => x.firstMs), baseline: runs.map((x) => x.bootOnlyMs) },
      extra,
    }),
    figure({
      id: 'engine-resume.all',
      storage: env.storage,
      title: `resume: kernel open → every one of ${o.sessions} sessions has its first step started`,
      unit: 'ms',
      kernel: median(runs.map((x) => x.allMs)),
      baseline: median(runs.map((x) => x.bootOnlyMs)),
      baselineName: 'kernel open alone, same store',
      target: null,
      samples: { kernel: runs.map((x) => x.allMs), baseline: runs.map((x) => x.bootOnlyMs) },
    }),
    figure({
      id: `engine-resume.first.batch${RESUME_SMALL_BATCH}`,
      storage: env.storage,
      title: `resume, first step.started, with Engine.start({ batch: ${RESUME_SMALL_BATCH} }) instead of the default 256 sessions per flush`,
      unit: 'ms',
      kernel: median(small.map((x) => x.firstMs)),
      baseline: median(small.map((x) => x.bootOnlyMs)),
      baselineName: 'kernel open alone, same store',
      target: null,
      samples: { kernel: small.map((x) => x.firstMs), baseline: small.map((x) => x.bootOnlyMs) },
      extra: { allMs: round(median(small.map((x) => x.allMs)), 3) },
    }),
  ];
}

/**
 * Crash safety of the workflow engine under a REAL process kill: a child process
 * (test/helpers/engine-crash-child.ts) opens the kernel on a database file, starts the engine and
 * the session, and is SIGKILLed mid-run; a new child on the same file resumes, until the session
 * has ended. Side effects are counted on the effect server (127.0.0.1) by Idempotency-Key.
 *
 * Run: npx tsx --test test/unit/engine/crash-sigkill.test.ts
 * Reproduce a schedule: KINGDOM_ENGINE_CRASH_SEED=<seed printed in the diagnostics/failure> …
 * (the seed fixes the wait durations and the kill schedule; where a delay kill lands still
 * depends on timing).
 *
 * The child talks to the effect server through a small forwarding proxy (also 127.0.0.1) so a
 * "kill after the N-th request" lands exactly in flight: the proxy forwards the request, the
 * effect server records the effect, and the proxy SIGKILLs the child before relaying the answer.
 * The resumed child must re-run that step with the same key (a repeat the server does not count).
 *
 * Invariants checked once the session ended:
 * 1. The session succeeded, with the outputs of the first (and only) counted effects.
 * 2. Every effect was counted exactly once by the server (distinct Idempotency-Keys), although
 *    raw requests show repeats; at least one repeat happened (round 0 kills at the first answer).
 * 3. `kernel.verify()` is ok; every step has exactly one `step.succeeded` event.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKernel } from '../../../worker/node/index.ts';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';
import { withTempDir } from '../../helpers/kernel.ts';
import { mulberry32 } from '../../helpers/prng.ts';
import { listenOnLoopback } from '../../helpers/listen.ts';
import { watchChild } from '../../helpers/child-lines.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHILD = fileURLToPath(new URL('../../helpers/engine-crash-child.ts', import.meta.url));
const KILL_ROUNDS = 6;
const MAX_RESUMES = 4;
const CHILD_TIMEOUT_MS = 40_000;

const EFFECTS = ['charge', 'ship', 'notify', 'invoice', 'receipt', 'archive', 'audit', 'ledger', 'close'] as const;
const STEPS = [...EFFECTS, 'cool', 'settle', 'flaky', 'pause', 'hold', 'rest', 'drain'];
const WAITS = 6;

function workflow(waits: readonly number[]): string {
  const [w1, w2, w3, w4, w5, w6] = waits;
  return `
name: crash_sigkill
version: 1.0.0
steps:
  - id: charge
    type: task
    runner: http
    with: { url: "{{ env.base }}/effect/charge", method: POST, body: { amount: 42 } }
  - id: cool
    type: wait
    duration: ${w1}ms
    dependsOn: [charge]
  - id: ship
    type: task
    runner: http
    dependsOn: [cool]
    with: { url: "{{ env.base }}/effect/ship", method: POST, body: { charge: "{{ steps.charge.output.body.key }}" } }
  - id: notify
    type: task
    runner: http
    dependsOn: [cool]
    with: { url: "{{ env.base }}/effect/notify", method: POST }
  - id: invoice
    type: task
    runner: http
    dependsOn: [cool]
    with: { url: "{{ env.base }}/effect/invoice", method: POST }
  - id: settle
    type: wait
    duration: ${w2}ms
    dependsOn: [ship, notify, invoice]
  - id: flaky
    type: task
    runner: http
    dependsOn: [settle]
    retry: { maxAttempts: 3, initialDelay: 10ms }
    with: { url: "{{ env.base }}/fail/1/flaky", method: POST }
  - id: pause
    type: wait
    duration: ${w3}ms
    dependsOn: [flaky]
  - id: receipt
    type: task
    runner: http
    dependsOn: [pause]
    retry: { maxAttempts: 3, initialDelay: 10ms }
    with: { url: "{{ env.base }}/effect/receipt", method: POST }
  - id: hold
    type: wait
    duration: ${w4}ms
    dependsOn: [receipt]
  - id: archive
    type: task
    runner: http
    dependsOn: [hold]
    with: { url: "{{ env.base }}/effect/archive", method: POST }
  - id: rest
    type: wait
    duration: ${w5}ms
    dependsOn: [archive]
  - id: audit
    type: task
    runner: http
    dependsOn: [rest]
    with: { url: "{{ env.base }}/effect/audit", method: POST, body: { receipt: "{{ steps.receipt.output.body.key }}" } }
  - id: ledger
    type: task
    runner: http
    dependsOn: [rest]
    with: { url: "{{ env.base }}/effect/ledger", method: POST }
  - id: drain
    type: wait
    duration: ${w6}ms
    dependsOn: [audit, ledger]
  - id: close
    type: task
    runner: http
    dependsOn: [drain]
    with: { url: "{{ env.base }}/effect/close", method: POST }
outputs:
  charged: "{{ steps.charge.output.body.count }}"
  shipped: "{{ steps.ship.output.body.count }}"
  receipt: "{{ steps.receipt.output.status }}"
  archived: "{{ steps.archive.output.body.count }}"
  closed: "{{ steps.close.output.body.count }}"
`;
}

// ---- forwarding proxy: lets the test kill the child right after the server answered ----------

interface Proxy {
  readonly url: string;
  /** Called after the upstream answered, before relaying; returning true drops the answer. */
  hook: ((path: string) => boolean) | null;
  close(): Promise<void>;
}

async function startProxy(upstream: string): Promise<Proxy> {
  const target = new URL(upstream);
  const proxy: { hook: ((path: string) => boolean) | null } = { hook: null };
  const server: Server = createServer((req, res) => {
    req.on('error', () => {});
    res.on('error', () => {});
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: IncomingHttpHeaders = { ...req.headers, host: target.host };
      const up = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers, agent: false }, (ur) => {
        const body: Buffer[] = [];
        ur.on('data', (c: Buffer) => body.push(c));
        ur.on('error', () => res.destroy());
        ur.on('end', () => {
          if (proxy.hook?.(req.url ?? '')) {
            res.destroy();
            return;
          }
          if (res.destroyed) return;
          const out = Buffer.concat(body);
          res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/octet-stream', 'content-length': out.length });
          res.end(out);
        });
      });
      up.on('error', () => res.destroy());
      up.end(Buffer.concat(chunks));
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  const { url } = await listenOnLoopback(server);
  return {
    url,
    get hook() { return proxy.hook; },
    set hook(h) { proxy.hook = h; },
    close: () => new Promise<void>((ok) => {
      server.close(() => ok());
      server.closeAllConnections();
    }),
  };
}

// ---- children ----------------------------------------------------------------------------------

type Plan = { readonly kind: 'delay'; readonly ms: number } | { readonly kind: 'requests'; readonly n: number } | { readonly kind: 'never' };

interface ChildRun {
  readonly killed: boolean;
  readonly ready: boolean;
  readonly done: { status: string; output: unknown } | null;
  readonly sessionId: string | null;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Requests the proxy relayed for (or dropped at the kill of) this child. */
  readonly requests: number;
  readonly ms: number;
}

const children = new Set<ChildProcess>();
let server: EffectServer;
let proxy: Proxy;

before(async () => {
  server = await startEffectServer();
  proxy = await startProxy(server.url);
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  children.clear();
  await proxy.close();
  await server.close();
});

function runChild(file: string, workflowFile: string, plan: Plan): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, file, proxy.url, workflowFile], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let killed = false;
    let ready = false;
    let done: ChildRun['done'] = null;
    let sessionId: string | null = null;
    let requests = 0;
    let stderr = '';
    let delayTimer: ReturnType<typeof setTimeout> | undefined;
    const kill = (): void => {
      if (!killed && child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    };
    const guard = setTimeout(() => {
      stderr += `\n[test] child still running after ${CHILD_TIMEOUT_MS} ms: killed\n`;
      kill();
    }, CHILD_TIMEOUT_MS);
    proxy.hook = () => {
      requests++;
      if (plan.kind === 'requests' && requests >= plan.n && !killed) {
        kill(); // the server answered, the child never sees it: the step is in flight
        return true;
      }
      return killed;
    };
    watchChild<{ ready?: boolean; sessionId?: string; done?: boolean; status?: string; output?: unknown }>(child, (msg) => {
      if (msg.ready) {
        ready = true;
        sessionId = msg.sessionId ?? null;
        if (plan.kind === 'delay') delayTimer = setTimeout(kill, plan.ms);
      }
      if (msg.done) done = { status: String(msg.status), output: msg.output };
    }, (d) => { stderr += d; });
    child.on('error', (err) => {
      clearTimeout(guard);
      clearTimeout(delayTimer);
      children.delete(child);
      reject(err);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(guard);
      clearTimeout(delayTimer);
      children.delete(child);
      proxy.hook = null;
      resolve({ killed, ready, done, sessionId, exitCode, signal, stderr, requests, ms: Date.now() - t0 });
    });
  });
}

test('SIGKILLed mid-run, resumed children finish the session with every effect exactly once', { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const seed = process.env['KINGDOM_ENGINE_CRASH_SEED'] ? Number(process.env['KINGDOM_ENGINE_CRASH_SEED']) : Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (rerun with KINGDOM_ENGINE_CRASH_SEED=${seed})`);
  const rand = mulberry32(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const waits = Array.from({ length: WAITS }, () => between(30, 80));
  const plans: Plan[] = [{ kind: 'requests', n: 1 }];
  for (let i = 1; i < KILL_ROUNDS; i++) plans.push(rand() < 0.5 ? { kind: 'delay', ms: between(10, 400) } : { kind: 'requests', n: between(1, 3) });
  const schedule = plans.map((p) => (p.kind === 'delay' ? `delay ${p.ms}ms` : p.kind === 'requests' ? `after ${p.n} request(s)` : 'never')).join(', ');
  t.diagnostic(`waits ${waits.join('/')} ms; kills: ${schedule}`);
  server.reset();

  await withTempDir(async (dir) => {
    const file = join(dir, 'engine.db');
    const workflowFile = join(dir, 'workflow.yaml');
    writeFileSync(workflowFile, workflow(waits));
    const log: string[] = [];
    const ctx = () => `seed ${seed}, schedule [${schedule}]\n${log.join('\n')}`;

    let kills = 0;
    let sessionId: string | null = null;
    let final: ChildRun['done'] = null;
    const rounds: Plan[] = [...plans, ...Array.from({ length: MAX_RESUMES }, (): Plan => ({ kind: 'never' }))];
    for (const [round, plan] of rounds.entries()) {
      const run = await runChild(file, workflowFile, plan);
      const what = plan.kind === 'delay' ? `delay ${plan.ms}ms` : plan.kind === 'requests' ? `after ${plan.n} request(s)` : 'no kill';
      log.push(`round ${round} (${what}): ${run.killed ? 'killed' : `exit ${run.exitCode}`}${run.ready ? '' : ' before ready'}, ${run.requests} request(s), ${run.ms} ms${run.done ? `, session ${run.done.status}` : ''}`);
      t.diagnostic(log[log.length - 1]!);
      if (run.sessionId !== null) {
        if (sessionId !== null) assert.equal(run.sessionId, sessionId, `${ctx()}\nevery child drives the same session`);
        sessionId = run.sessionId;
      }
      if (run.killed) {
        kills++;
        assert.equal(run.signal, 'SIGKILL', `${ctx()}\nchild ended by SIGKILL:\n${run.stderr}`);
      } else {
        assert.equal(run.exitCode, 0, `${ctx()}\nchild failed on its own:\n${run.stderr}`);
        assert.ok(run.done, `${ctx()}\nchild exited 0 without reporting the end of the session:\n${run.stderr}`);
      }
      if (run.done) {
        final = run.done;
        break;
      }
    }
    assert.ok(final, `${ctx()}\nthe session did not end within ${rounds.length} children`);
    assert.ok(sessionId, 'a child reported the session');
    assert.ok(kills >= 1, `${ctx()}\nat least one child was killed`);

    // 1. Succeeded, with the outputs of the counted effects.
    assert.equal(final.status, 'succeeded', `${ctx()}\nsession ended ${JSON.stringify(final)}`);
    assert.deepEqual(final.output, { charged: 1, shipped: 1, receipt: 200, archived: 1, closed: 1 }, ctx());

    // 2. Every effect exactly once, repeats notwithstanding.
    const counts = server.counts();
    assert.deepEqual([...counts.keys()].sort(), [...EFFECTS].sort(), `${ctx()}\nno unexpected effects`);
    const repeats: string[] = [];
    let totalRepeats = 0;
    for (const name of EFFECTS) {
      assert.equal(counts.get(name), 1, `${ctx()}\neffect ${name} counted ${counts.get(name)} times (${server.requests(name)} requests)`);
      const extra = server.requests(name) - 1;
      totalRepeats += extra;
      if (extra > 0) repeats.push(`${name} ×${extra}`);
    }
    t.diagnostic(`${kills} kill(s); repeated requests with the same key: ${totalRepeats}${repeats.length ? ` (${repeats.join(', ')})` : ''}; /fail/1/flaky requests: ${server.requests('/fail/1/flaky')}`);
    assert.ok(totalRepeats >= 1, `${ctx()}\nround 0 kills at the first answer, so charge re-runs with the same key`);

    // 3. The log verifies; every step succeeded exactly once.
    const k = await openKernel({ storage: { file } });
    try {
      const s = k.query('session.get', { sessionId }) as { status: string };
      assert.equal(s.status, 'succeeded', ctx());
      const report = await k.verify();
      assert.equal(report.ok, true, `${ctx()}\nverify failed: ${JSON.stringify(report.broken)}`);
      const state = k.query('session.state', { sessionId }) as { events: { type: string; step: string | null }[] };
      const succeeded = state.events.filter((e) => e.type === 'step.succeeded').map((e) => e.step);
      assert.deepEqual([...succeeded].sort(), [...STEPS].sort(), `${ctx()}\neach step has exactly one step.succeeded event`);
      const startedCount = state.events.filter((e) => e.type === 'step.started').length;
      t.diagnostic(`${state.events.length} session events, ${startedCount} step.started; ${Date.now() - started} ms in all`);
    } finally {
      await k.close();
    }
  }, 'kingdom-engine-crash-');
});

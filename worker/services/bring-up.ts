/**
 * Bringing a Monument up (docs/manifests.md, "Relics and Monuments"): its components group by
 * group in `startOrder` (components it does not name come last, together), each after its
 * `conditions` hold — `installed`: the other component resolves in the registry; `healthy`: the
 * other (a Relic) answers its health check, waited for within a bound. A Relic component is up
 * when it is healthy; any other kind when it is installed (Kingdom starts no outside process).
 *
 * Invariants:
 * 1. Every wait is bounded (`waitMs`, probing every `retryMs` on the service's clock).
 * 2. A failed step stops the bring-up: the later groups are `skipped`, never left pending.
 * 3. Each state change is published (the screen's live checklist); the outcome is returned once.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { Clock } from '../engine/clock.ts';
import type { BringUpStep, ProbeFacts } from '../domains/manifests/live.ts';
import { manifestCode } from '../manifests/code.ts';
import type { MonumentManifest } from '../manifests/schema.ts';

export interface BringUpContext {
  readonly kernel: Kernel;
  readonly clock: Clock;
  readonly waitMs: number;
  readonly retryMs: number;
  /** Probe one installed Relic of the workspace now (undefined when it is not watched). */
  probe(name: string, version: string): Promise<ProbeFacts> | undefined;
  publish(steps: readonly BringUpStep[]): void;
  stopped(): boolean;
}

type Outcome = { overall: 'up' | 'failed'; steps: { component: string; kind: string; state: 'up' | 'failed' | 'skipped'; detail: string }[] };
type Component = MonumentManifest['components'][number];

export async function runBringUp(ctx: BringUpContext, req: { workspaceId: string; name: string; version: string }): Promise<Outcome | null> {
  const code = manifestCode.get();
  const row = ctx.kernel.systemQuery('manifest.get', { workspaceId: req.workspaceId, kind: 'Monument', name: req.name, version: req.version }) as { source: string } | null;
  const parsed = row ? code.parseManifest(row.source) : null;
  if (!parsed?.ok || parsed.manifest.kind !== 'Monument') {
    return { overall: 'failed', steps: [{ component: req.name, kind: 'Monument', state: 'failed', detail: `Monument ${req.name}@${req.version} is no longer installed.` }] };
  }
  const m = parsed.manifest as MonumentManifest;
  const listed = ctx.kernel.systemQuery('manifest.list', { workspaceId: req.workspaceId }) as { kind: string; name: string; version: string }[];
  const installed = (c: Component): string | null => code.maxSatisfying(listed.filter((x) => x.kind === c.kind && x.name === c.name).map((x) => x.version), c.version);
  const byName = new Map(m.components.map((c) => [c.name, c]));
  const groups = m.startOrder.map((g) => (typeof g === 'string' ? [g] : [...g]));
  const named = new Set(groups.flat());
  const rest = m.components.filter((c) => !named.has(c.name)).map((c) => c.name);
  if (rest.length > 0) groups.push(rest);

  const steps: BringUpStep[] = groups.flat().map((n) => ({ component: n, kind: byName.get(n)?.kind ?? 'unknown', state: 'pending', detail: 'not started yet' }));
  const set = (n: string, state: BringUpStep['state'], detail: string): boolean => {
    const i = steps.findIndex((s) => s.component === n && s.state !== 'up' && s.state !== 'failed');
    if (i >= 0) steps[i] = { ...steps[i]!, state, detail };
    ctx.publish([...steps]);
    return state !== 'failed';
  };
  ctx.publish([...steps]);

  const sleep = (ms: number): Promise<void> => new Promise((resolve) => ctx.clock.setTimer(resolve, ms));
  const waitHealthy = async (name: string, version: string): Promise<{ ok: boolean; facts?: ProbeFacts; error: string }> => {
    const deadline = ctx.clock.now() + ctx.waitMs;
    let last: ProbeFacts | undefined;
    for (;;) {
      const p = ctx.probe(name, version);
      if (!p) return { ok: false, error: `Relic ${name}@${version} is not being probed (is it installed?)` };
      last = await p;
      if (last.status === 'healthy') return { ok: true, facts: last, error: '' };
      const left = deadline - ctx.clock.now();
      if (left <= 0 || ctx.stopped()) return { ok: false, facts: last, error: last.error ?? 'unhealthy' };
      await sleep(Math.min(ctx.retryMs, left));
    }
  };
  const seconds = `${Math.round(ctx.waitMs / 100) / 10} s`;

  const runStep = async (n: string): Promise<boolean> => {
    const c = byName.get(n);
    if (!c) return set(n, 'failed', `${n} is in startOrder but not one of ${m.name}'s components; add it to components or take it out of startOrder.`);
    set(n, 'waiting', 'checking its conditions');
    for (const [other, condition] of Object.entries(m.conditions[n] ?? {})) {
      const o = byName.get(other);
      if (!o) return set(n, 'failed', `Its condition names ${other}, which is not one of ${m.name}'s components.`);
      const v = installed(o);
      if (v === null) return set(n, 'failed', `It waits for ${other} to be installed, and no ${o.kind}/${o.name} in ${o.version} is.`);
      if (condition === 'healthy') {
        if (o.kind !== 'Relic') return set(n, 'failed', `It waits for ${other} to be healthy, but ${other} is a ${o.kind}; only a Relic has a health check.`);
        set(n, 'waiting', `waiting up to ${seconds} for ${other} to be healthy`);
        const h = await waitHealthy(o.name, v);
        if (!h.ok) return set(n, 'failed', `${other} was not healthy within ${seconds}: ${h.error}`);
      }
    }
    const v = installed(c);
    if (v === null) return set(n, 'failed', `No ${c.kind}/${c.name} in ${c.version} is installed; apply one and bring it up again.`);
    if (c.kind !== 'Relic') return set(n, 'up', `installed: ${c.kind}/${c.name}@${v}`);
    set(n, 'waiting', `waiting up to ${seconds} for ${n} to be healthy`);
    const h = await waitHealthy(c.name, v);
    return h.ok
      ? set(n, 'up', `healthy: answered ${h.facts?.httpStatus ?? ''} in ${Math.round(h.facts?.ms ?? 0)} ms`)
      : set(n, 'failed', `${n} was not healthy within ${seconds}: ${h.error}`);
  };

  let failed = false;
  for (const group of groups) {
    if (ctx.stopped()) return null;
    if (failed) {
      for (const n of group) set(n, 'skipped', 'not started: an earlier step failed');
      continue;
    }
    const ok = await Promise.all(group.map(runStep));
    if (ok.includes(false)) failed = true;
  }
  if (ctx.stopped()) return null;
  return {
    overall: failed ? 'failed' : 'up',
    steps: steps.map((s) => ({ component: s.component, kind: s.kind, state: s.state === 'up' || s.state === 'failed' ? s.state : 'skipped', detail: s.detail.slice(0, 1000) })),
  };
}

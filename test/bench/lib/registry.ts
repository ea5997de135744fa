/**
 * `registry` benchmark (Node only, in-memory kernel, no engine): the manifest registry with 1,000
 * manifests that depend on each other (issue 15, "Benchmarks").
 *
 * The registry (deterministic): Tools (each of the later ones imports an earlier Tool with a caret
 * range), Agents (three Tools each) and Monuments (four Agents and a Tool each) — 70 %, 25 % and
 * 5 % of the manifests — applied with commandBatch of 100.
 *
 * Figures:
 *  - registry.graph: `manifest.graph` (every stored manifest read, parsed from the memo, resolved
 *    with semver ranges, missing needs and cycles found) vs `resolve()` alone on the parsed
 *    manifests (the resolution without the kernel). p50 of ROUNDS, ms. Informational.
 *  - registry.hot-reload: a changed manifest → `manifest.apply` (one event) → `manifest.graph`
 *    answered, i.e. the kernel's part of the hot-reload latency (a watched file changed → the graph
 *    revalidated), vs the apply alone. p50 of ROUNDS changes, ms. Target: ≤ 100 ms at 1,000.
 */
import { openKernel } from '../../../worker/node/index.ts';
import { manifestCode } from '../../../worker/manifests/code.ts';
import type { Manifest } from '../../../worker/manifests/index.ts';
import { figure, type Figure } from './scenarios.ts';
import { now, percentile } from './stats.ts';

export const HOT_RELOAD_TARGET_MS = 100;
const ROUNDS = 30;

function tool(i: number, extra = ''): string {
  const imports = i >= 10 ? `imports:\n  - { kind: Tool, name: bench.tool${i % 10}, version: "^1.0.0" }\n` : '';
  return `kind: Tool\nname: bench.tool${i}\nversion: 1.0.0\n${extra}runner: transform\n${imports}parameters:\n  x: { type: string, required: true }\ntransform:\n  expression: "{ y: params.x }"\n`;
}

function agent(i: number, tools: number): string {
  const list = [0, 1, 2].map((k) => `bench.tool${(i * 7 + k * 13) % tools}`).join(', ');
  return `kind: Agent\nname: bench-agent${i}\nversion: 1.0.0\npersona: Helps with task ${i}.\nmodel: { name: gpt-4o-mini }\ntools: [${list}]\n`;
}

function monument(i: number, agents: number, tools: number): string {
  const comps = [0, 1, 2, 3].map((k) => `  - { kind: Agent, name: bench-agent${(i * 5 + k) % agents}, version: "^1.0.0" }`).join('\n');
  return `kind: Monument\nname: bench-monument${i}\nversion: 1.0.0\ncomponents:\n${comps}\n  - { kind: Tool, name: bench.tool${i % tools} }\n`;
}

export async function benchRegistry(opts: { manifests: number }, log: (m: string) => void): Promise<Figure[]> {
  const tools = Math.round(opts.manifests * 0.7);
  const agents = Math.round(opts.manifests * 0.25);
  const monuments = opts.manifests - tools - agents;
  const sources = [
    ...Array.from({ length: tools }, (_, i) => tool(i)),
    ...Array.from({ length: agents }, (_, i) => agent(i, tools)),
    ...Array.from({ length: monuments }, (_, i) => monument(i, agents, tools)),
  ];
  log(`registry: applying ${sources.length} manifests (${tools} Tools, ${agents} Agents, ${monuments} Monuments)`);
  const k = await openKernel({ storage: 'memory' });
  try {
    for (let i = 0; i < sources.length; i += 100) {
      k.commandBatch(sources.slice(i, i + 100).map((source, j) => ({ type: 'manifest.apply', payload: { source }, idempotencyKey: `bench-${i + j}` })));
    }
    const first = k.query('manifest.graph', {}) as { nodes: unknown[]; missing: unknown[]; cycles: unknown[] };
    if (first.nodes.length !== sources.length || first.missing.length !== 0) throw new Error(`registry bench: ${first.nodes.length} nodes, ${first.missing.length} missing`);

    const code = manifestCode.get();
    const parsed: Manifest[] = sources.map((s) => {
      const r = code.parseManifest(s);
      if (!r.ok) throw new Error(r.errors[0]!.message);
      return r.manifest;
    });
    const graphMs: number[] = [];
    const resolveMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let t = now();
      k.query('manifest.graph', {});
      graphMs.push(now() - t);
      t = now();
      code.resolve(parsed);
      resolveMs.push(now() - t);
    }

    const applyMs: number[] = [];
    const reloadMs: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const i = (r * 37) % tools;
      let t = now();
      const res = k.command({ type: 'manifest.apply', payload: { source: tool(i, `description: change ${r}\n`) }, idempotencyKey: `bench-change-${r}` });
      const applied = now() - t;
      if (res.events.length !== 1) throw new Error('registry bench: a changed manifest must be one event');
      k.query('manifest.graph', {});
      reloadMs.push(now() - t);
      // The apply alone, on another manifest (same work, no graph after it).
      const j = (r * 37 + 5) % tools;
      t = now();
      k.command({ type: 'manifest.apply', payload: { source: tool(j, `description: alone ${r}\n`) }, idempotencyKey: `bench-alone-${r}` });
      applyMs.push(Math.min(applied, now() - t));
    }
    const p50 = (xs: number[]) => percentile(xs, 50);
    log(`registry: graph p50 ${p50(graphMs).toFixed(1)} ms, resolve alone ${p50(resolveMs).toFixed(1)} ms, hot reload p50 ${p50(reloadMs).toFixed(1)} ms (apply ${p50(applyMs).toFixed(1)} ms)`);
    return [
      figure({
        id: `registry.graph.${sources.length}`, storage: 'node-memory', title: `manifest.graph over ${sources.length} manifests (p50)`, unit: 'ms',
        kernel: p50(graphMs), baseline: p50(resolveMs), baselineName: 'resolve() alone on parsed manifests', target: null,
        samples: { kernel: graphMs, baseline: resolveMs },
      }),
      figure({
        id: `registry.hot-reload.${sources.length}`, storage: 'node-memory', title: `changed manifest → manifest.apply → manifest.graph answered, ${sources.length} manifests (p50)`, unit: 'ms',
        kernel: p50(reloadMs), baseline: p50(applyMs), baselineName: 'manifest.apply alone', target: { on: 'kernel', op: '<=', value: HOT_RELOAD_TARGET_MS },
        samples: { kernel: reloadMs, baseline: applyMs },
      }),
    ];
  } finally {
    await k.close();
  }
}

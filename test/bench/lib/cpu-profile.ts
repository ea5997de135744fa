/**
 * A V8 CPU profile of one timed window of this process (node:inspector, what `node --cpu-prof`
 * records, but only between `start()` and `stop()`), written as a .cpuprofile (open it in Chrome
 * DevTools → Performance, or speedscope) and summed up as text: self time by function and by
 * file, and inclusive time of the functions that matter. Node only.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export class CpuProfiler {
  private readonly session = new Session();

  async start(): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
  }

  /** Stop, write the profile to `file`, and return its text summary. */
  async stop(file: string): Promise<string> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    writeFileSync(file, JSON.stringify(profile));
    return summarize(profile);
  }
}

const short = (url: string) => url.replace(/^.*\/(worker|node_modules|test)\//, '$1/').replace(/^file:\/\//, '');

export function summarize(p: Profile, top = 20): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const perNode = new Map<number, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    perNode.set(p.samples[i]!, (perNode.get(p.samples[i]!) ?? 0) + dt);
    total += dt;
  }
  const name = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
  const self = new Map<string, number>();
  const files = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, t] of perNode) {
    const n = byId.get(id)!;
    self.set(name(n), (self.get(name(n)) ?? 0) + t);
    const file = short(n.callFrame.url) || n.callFrame.functionName;
    files.set(file, (files.get(file) ?? 0) + t);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = name(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + t);
    }
  }
  const list = (m: Map<string, number>, n: number, filter: (k: string) => boolean = () => true) => [...m]
    .filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, n)
    .map(([k, v]) => `    ${(v / 1000).toFixed(1).padStart(7)} ms  ${k}`).join('\n');
  // Inclusive time of our own code (kernel, sync client, zod, yjs, ws): where a change would go.
  const ours = (k: string) => /worker\/|zod|yjs|ws\/lib|y-websocket|lib0/.test(k);
  return [
    `  CPU profile of the window: ${(total / 1000).toFixed(0)} ms sampled`,
    `  self time by function:\n${list(self, top)}`,
    `  self time by file:\n${list(files, 12)}`,
    `  inclusive time (worker code and its libraries):\n${list(incl, top + 10, ours)}`,
  ].join('\n');
}

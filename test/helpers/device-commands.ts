/**
 * Random user commands for the seeded multi-device tests (test/unit/sync/merge-property.test.ts,
 * test/unit/sync/relay-property.test.ts): every kind of command a person can send, against what
 * the device currently sees.
 *
 * Invariants:
 * 1. Given the same PRNG state and the same kernel state, the same command is chosen.
 * 2. A command the device's state refuses changes nothing and is not an error; an `internal`
 *    error (a bug) is rethrown.
 */
import { newKey, type Kernel } from './kernel.ts';
import { KernelError } from '../../worker/kernel/errors.ts';

export function pick<T>(rnd: () => number, xs: readonly T[]): T | undefined {
  return xs.length === 0 ? undefined : xs[Math.floor(rnd() * xs.length)];
}

/** One random user command on `k`, against what `k` currently sees: every kind of command. */
export function act(rnd: () => number, k: Kernel, i: number): void {
  const q = <T>(name: string, params: Record<string, unknown> = {}): T => k.query(name, params) as T;
  const workspaces = q<{ id: string; status: string }[]>('workspace.list', { includeArchived: true });
  const active = workspaces.filter((w) => w.status === 'active');
  const w = pick(rnd, active);
  const projects = w ? q<{ id: string }[]>('project.list', { workspaceId: w.id }) : [];
  const nodesAnswer = q<{ nodes?: { id: string }[] } | { id: string }[]>('forest.node.list', {});
  const nodes = Array.isArray(nodesAnswer) ? nodesAnswer : nodesAnswer.nodes ?? [];
  const sessionsAnswer = q<{ sessions?: { id: string; status: string }[] } | { id: string; status: string }[]>('session.list', {});
  const sessions = (Array.isArray(sessionsAnswer) ? sessionsAnswer : sessionsAnswer.sessions ?? []).filter((s) => s.status === 'running');
  const n = (k: number) => Math.floor(rnd() * k);
  const wf = `name: ${pick(rnd, ['alpha', 'beta'])}\nversion: "1.0.${n(5)}"\nsteps:\n  - id: s\n    type: task\n    runner: noop\n`;
  const node = pick(rnd, nodes);
  const other = pick(rnd, nodes);
  const choices: (() => { type: string; payload: Record<string, unknown> } | null)[] = [
    () => ({ type: 'workspace.create', payload: { name: `W${n(6)}` } }),
    () => (w ? { type: 'workspace.rename', payload: { workspaceId: w.id, name: `R${i}` } } : null),
    () => (w ? { type: 'workspace.archive', payload: { workspaceId: w.id } } : null),
    () => (w ? { type: 'project.create', payload: { workspaceId: w.id, name: `P${n(4)}` } } : null),
    () => (projects[0] ? { type: 'project.rename', payload: { projectId: pick(rnd, projects)!.id, name: `PR${i}` } } : null),
    () => (projects[0] ? { type: 'project.archive', payload: { projectId: pick(rnd, projects)!.id } } : null),
    () => ({ type: 'workflow.save', payload: { source: wf } }),
    () => ({ type: 'workflow.archive', payload: { name: pick(rnd, ['alpha', 'beta'])! } }),
    () => ({ type: 'secret.set', payload: { name: pick(rnd, ['A_KEY', 'B_KEY'])!, value: `v-${i}-secret` } }),
    () => ({ type: 'secret.delete', payload: { name: pick(rnd, ['A_KEY', 'B_KEY'])! } }),
    () => ({ type: 'llm.provider.set', payload: { id: pick(rnd, ['p1', 'p2'])!, kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', models: [`m${n(3)}`] } }),
    () => ({ type: 'llm.provider.delete', payload: { id: pick(rnd, ['p1', 'p2'])! } }),
    () => ({ type: 'forest.node.create', payload: { title: `note ${i}`, body: `body ${n(5)}`, tags: [`t${n(3)}`] } }),
    () => (node ? { type: 'forest.node.update', payload: { nodeId: node.id, title: `edited ${i}`, tags: [`t${n(3)}`] } } : null),
    () => (node ? { type: 'forest.node.delete', payload: { nodeId: node.id } } : null),
    () => (node && other && node.id !== other.id ? { type: 'forest.link.create', payload: { from: node.id, to: other.id, type: pick(rnd, ['refs', 'about'])! } } : null),
    () => (node && other && node.id !== other.id ? { type: 'forest.link.delete', payload: { from: node.id, to: other.id, type: pick(rnd, ['refs', 'about'])! } } : null),
    () => ({ type: 'session.start', payload: { workflow: pick(rnd, ['alpha', 'beta'])!, inputs: {} } }),
    () => ({ type: 'device.name', payload: { name: `D${n(4)}` } }),
    () => (sessions[0] ? { type: 'session.cancel', payload: { sessionId: pick(rnd, sessions)!.id, reason: 'property' } } : null),
  ];
  const cmd = pick(rnd, choices)!();
  if (!cmd) return;
  try {
    k.command({ ...cmd, idempotencyKey: newKey() });
  } catch (err) {
    // A command this device's state refuses (a name taken here, say) changes nothing: fine. Bugs are not fine.
    if (err instanceof KernelError && err.code === 'internal') throw err;
  }
}


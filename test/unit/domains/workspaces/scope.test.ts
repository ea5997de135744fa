/**
 * Workspace scope across the slices (worker/domains/workspaces/scope.ts): workflows, sessions,
 * Forest nodes, secrets and LLM providers belong to one workspace.
 *
 * Invariants checked:
 * 1. Names are unique per workspace: two workspaces each have a workflow `deploy`, a secret
 *    `API_KEY` and a provider `openai`, with their own revisions, values and configs.
 * 2. Lists and searches answer one workspace (the default one when `workspaceId` is omitted);
 *    changes in one workspace never show in another.
 * 3. Writing into an unknown workspace is `not_found`, into an archived one `archived`.
 * 4. Forest links never cross workspaces; reads by id with a `workspaceId` hide other workspaces'
 *    nodes.
 * 5. Events record their workspace; other events of a session or node follow their entity.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKSPACE_ID } from '../../../../worker/domains/workspaces/index.ts';
import { readSecrets } from '../../../../worker/domains/secrets/index.ts';
import { readProviders } from '../../../../worker/domains/providers/index.ts';
import { resolveWorkflowSource } from '../../../../worker/domains/sessions/workflow-source.ts';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { catchError, createWorkspace, memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

async function withMem<T>(fn: (k: Kernel) => T | Promise<T>): Promise<T> {
  const k = await memKernel();
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

const cmd = (k: Kernel, type: string, payload: Record<string, unknown>) => k.command({ type, payload, idempotencyKey: newKey() });
const value = <T>(k: Kernel, type: string, payload: Record<string, unknown>) => cmd(k, type, payload).value as T;
/** The full (upcast) event a command appended first. */
const firstEvent = (k: Kernel, r: { events: readonly { seq: number }[] }) => k.readEvents(r.events[0]!.seq - 1, 1)[0]!;

function expectCode(fn: () => unknown, code: string): KernelError {
  const err = catchError(fn);
  assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

const deploy = (text: string) => `name: deploy\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runner: transform\n    with:\n      value: "${text}"\n`;

describe('workspace scope: workflows and sessions', () => {
  test('two workspaces each have a workflow deploy with their own revisions; lists answer one workspace', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const r1 = value<{ revision: number }>(k, 'workflow.save', { source: deploy('default one') });
      const r2 = value<{ revision: number }>(k, 'workflow.save', { source: deploy('default two') });
      const rb = value<{ revision: number }>(k, 'workflow.save', { workspaceId: b, source: deploy('in b') });
      assert.deepEqual([r1.revision, r2.revision, rb.revision], [1, 2, 1], 'revisions count per workspace');
      const unchanged = value<{ unchanged: boolean }>(k, 'workflow.save', { workspaceId: b, source: deploy('in b') });
      assert.equal(unchanged.unchanged, true);
      const listD = k.query('workflow.list', {}) as { name: string; revision: number }[];
      const listB = k.query('workflow.list', { workspaceId: b }) as { name: string; revision: number }[];
      assert.deepEqual(listD.map((w) => [w.name, w.revision]), [['deploy', 2]]);
      assert.deepEqual(listB.map((w) => [w.name, w.revision]), [['deploy', 1]]);
      assert.match((k.query('workflow.get', { workspaceId: b, name: 'deploy' }) as { source: string }).source, /in b/);
      assert.match((k.query('workflow.get', { name: 'deploy' }) as { source: string }).source, /default two/);
      assert.equal((k.query('workflow.revisions', { workspaceId: b, name: 'deploy' }) as unknown[]).length, 1);
      assert.match(resolveWorkflowSource(k.sql, b, 'deploy')!.source, /in b/);
      const other = createWorkspace(k, 'C');
      assert.deepEqual(k.query('workflow.list', { workspaceId: other }), []);
      assert.equal(resolveWorkflowSource(k.sql, other, 'deploy'), undefined);
    }));

  test('workflow.saved and session.started record the workspace; streams are per workspace', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const saved = firstEvent(k, cmd(k, 'workflow.save', { workspaceId: b, source: deploy('x') }));
      assert.equal(saved.stream, `workflow:${b}/deploy`);
      assert.equal((saved.payload as { workspaceId: string }).workspaceId, b);
      assert.equal(saved.v, 2);
      const started = firstEvent(k, cmd(k, 'session.start', { workspaceId: b, workflow: 'deploy' }));
      assert.equal((started.payload as { workspaceId: string }).workspaceId, b);
      const id = (started.payload as { sessionId: string }).sessionId;
      assert.equal((k.query('session.get', { sessionId: id }) as { workspaceId: string }).workspaceId, b);
    }));

  test('session.start finds saved workflows in its own workspace only; session.list answers one workspace', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      cmd(k, 'workflow.save', { source: deploy('default') });
      expectCode(() => cmd(k, 'session.start', { workspaceId: b, workflow: 'deploy' }), 'not_found');
      const inDefault = value<{ sessionId: string }>(k, 'session.start', { workflow: 'deploy' }).sessionId;
      const inB = value<{ sessionId: string }>(k, 'session.start', { workspaceId: b, source: deploy('inline') }).sessionId;
      const ids = (ws?: string) => (k.query('session.list', ws ? { workspaceId: ws } : {}) as { id: string; workspaceId: string }[]).map((x) => x.id);
      assert.deepEqual(ids(), [inDefault]);
      assert.deepEqual(ids(b), [inB]);
      assert.deepEqual((k.query('workflow.list', {}) as { sessions: number }[]).map((w) => w.sessions), [1], 'session counts per workspace');
    }));

  test('a rerun stays in the workspace of the session it forks', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const id = value<{ sessionId: string }>(k, 'session.start', { workspaceId: b, source: deploy('x') }).sessionId;
      const fork = value<{ sessionId: string }>(k, 'session.rerun', { sessionId: id, fromStep: 'a' }).sessionId;
      assert.equal((k.query('session.get', { sessionId: fork }) as { workspaceId: string }).workspaceId, b);
    }));

  test('archiving a workflow in one workspace leaves the same name in another', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      cmd(k, 'workflow.save', { source: deploy('d') });
      cmd(k, 'workflow.save', { workspaceId: b, source: deploy('b') });
      cmd(k, 'workflow.archive', { workspaceId: b, name: 'deploy' });
      assert.deepEqual(k.query('workflow.list', { workspaceId: b }), []);
      assert.equal((k.query('workflow.list', {}) as unknown[]).length, 1);
      expectCode(() => cmd(k, 'workflow.archive', { workspaceId: createWorkspace(k, 'C'), name: 'deploy' }), 'not_found');
    }));

  test('writing into an unknown or archived workspace is refused', () =>
    withMem((k) => {
      const ghost = crypto.randomUUID();
      const gone = createWorkspace(k, 'Gone');
      cmd(k, 'workspace.archive', { workspaceId: gone });
      for (const [ws, code] of [[ghost, 'not_found'], [gone, 'archived']] as const) {
        expectCode(() => cmd(k, 'workflow.save', { workspaceId: ws, source: deploy('x') }), code);
        expectCode(() => cmd(k, 'session.start', { workspaceId: ws, source: deploy('x') }), code);
        expectCode(() => cmd(k, 'secret.set', { workspaceId: ws, name: 'K', value: 'v' }), code);
        expectCode(() => cmd(k, 'llm.provider.set', { workspaceId: ws, id: 'p', kind: 'openai', baseUrl: 'http://localhost:1/v1', models: ['m'] }), code);
        expectCode(() => cmd(k, 'forest.node.create', { workspaceId: ws, title: 'T' }), code);
      }
      expectCode(() => cmd(k, 'workflow.save', { workspaceId: 'nope', source: deploy('x') }), 'invalid_payload');
    }));
});

describe('workspace scope: secrets and providers', () => {
  test('two workspaces each have a secret API_KEY with their own value; list and delete stay in one workspace', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const set = firstEvent(k, cmd(k, 'secret.set', { name: 'API_KEY', value: 'value-default' }));
      assert.equal(set.stream, `secret:${DEFAULT_WORKSPACE_ID}/API_KEY`);
      assert.deepEqual(set.payload, { workspaceId: DEFAULT_WORKSPACE_ID, name: 'API_KEY' });
      cmd(k, 'secret.set', { workspaceId: b, name: 'API_KEY', value: 'value-b' });
      cmd(k, 'secret.set', { workspaceId: b, name: 'ONLY_B', value: 'only-b' });
      assert.deepEqual([...readSecrets(k.sql, DEFAULT_WORKSPACE_ID)], [['API_KEY', 'value-default']]);
      assert.deepEqual(new Map(readSecrets(k.sql, b)), new Map([['API_KEY', 'value-b'], ['ONLY_B', 'only-b']]));
      const names = (ws?: string) => (k.query('secret.list', ws ? { workspaceId: ws } : {}) as { name: string }[]).map((x) => x.name);
      assert.deepEqual(names(), ['API_KEY']);
      assert.deepEqual(names(b), ['API_KEY', 'ONLY_B']);
      expectCode(() => cmd(k, 'secret.delete', { name: 'ONLY_B' }), 'not_found');
      cmd(k, 'secret.delete', { workspaceId: b, name: 'API_KEY' });
      assert.deepEqual(names(), ['API_KEY']);
      assert.deepEqual(names(b), ['ONLY_B']);
      assert.deepEqual([...readSecrets(k.sql, DEFAULT_WORKSPACE_ID)], [['API_KEY', 'value-default']]);
      k.rebuild();
      assert.deepEqual(names(b), ['ONLY_B'], 'secret_names rebuilds per workspace');
    }));

  test('two workspaces each have a provider openai; keySet reads the secret of the same workspace', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const provider = { id: 'openai', kind: 'openai', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o-mini'], apiKeySecret: 'API_KEY' };
      cmd(k, 'llm.provider.set', provider);
      cmd(k, 'llm.provider.set', { ...provider, workspaceId: b, baseUrl: 'http://localhost:11434/v1', models: ['llama3'] });
      cmd(k, 'secret.set', { workspaceId: b, name: 'API_KEY', value: 'value-b' });
      const list = (ws?: string) => k.query('llm.provider.list', ws ? { workspaceId: ws } : {}) as { id: string; baseUrl: string; keySet: boolean }[];
      assert.deepEqual(list().map((p) => [p.id, p.baseUrl, p.keySet]), [['openai', 'https://api.openai.com/v1', false]]);
      assert.deepEqual(list(b).map((p) => [p.id, p.baseUrl, p.keySet]), [['openai', 'http://localhost:11434/v1', true]]);
      assert.deepEqual(readProviders(k.sql, b).map((p) => p.models), [['llama3']]);
      expectCode(() => cmd(k, 'llm.provider.delete', { workspaceId: createWorkspace(k, 'C'), id: 'openai' }), 'not_found');
      cmd(k, 'llm.provider.delete', { id: 'openai' });
      assert.deepEqual(list(), []);
      assert.equal(list(b).length, 1);
    }));
});

describe('workspace scope: the Forest', () => {
  const node = (k: Kernel, title: string, extra: Record<string, unknown> = {}) => value<{ nodeId: string }>(k, 'forest.node.create', { title, body: `${title} body`, tags: ['runbook'], ...extra }).nodeId;

  test('lists, tags and search answer one workspace; node_created records it', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const d1 = node(k, 'Deploy runbook');
      const b1 = node(k, 'Deploy runbook for B', { workspaceId: b, tags: ['runbook', 'b-only'] });
      const created = k.readEvents(0, 1000).find((e) => e.type === 'forest.node_created' && (e.payload as { nodeId: string }).nodeId === b1)!;
      assert.equal((created.payload as { workspaceId: string }).workspaceId, b);
      const ids = (q: string, params: Record<string, unknown>) => {
        const r = k.query(q, params) as { nodes?: { id: string }[]; hits?: { id: string }[] };
        return (r.nodes ?? r.hits ?? []).map((x) => x.id);
      };
      assert.deepEqual(ids('forest.node.list', {}), [d1]);
      assert.deepEqual(ids('forest.node.list', { workspaceId: b }), [b1]);
      assert.deepEqual(ids('forest.search', { query: 'deploy' }), [d1]);
      assert.deepEqual(ids('forest.search', { workspaceId: b, query: 'deploy' }), [b1]);
      assert.deepEqual(ids('forest.search', { workspaceId: b, query: 'deploy', tags: ['runbook'] }), [b1]);
      assert.deepEqual(ids('forest.search', { query: 'runbook -b' }), [d1], 'a negated term in the other path');
      assert.equal((k.query('forest.search', { query: 'deploy' }) as { total: number }).total, 1);
      assert.deepEqual((k.query('forest.tags', {}) as { tag: string }[]).map((t) => t.tag), ['runbook']);
      assert.deepEqual((k.query('forest.tags', { workspaceId: b }) as { tag: string }[]).map((t) => t.tag).sort(), ['b-only', 'runbook']);
      const c = createWorkspace(k, 'C');
      assert.deepEqual(ids('forest.search', { workspaceId: c, query: 'deploy' }), []);
    }));

  test('a single-workspace Forest searches without the workspace filter and finds the same', () =>
    withMem((k) => {
      const a = node(k, 'Alpha deploy');
      node(k, 'Beta deploy');
      const before = k.query('forest.search', { query: 'deploy' }) as { hits: { id: string }[]; total: number };
      assert.equal(before.total, 2);
      const b = createWorkspace(k, 'B');
      assert.equal((k.query('forest.search', { workspaceId: b, query: 'alpha' }) as { total: number }).total, 0);
      node(k, 'Gamma deploy', { workspaceId: b });
      const after = k.query('forest.search', { query: 'deploy' }) as { hits: { id: string }[]; total: number };
      assert.deepEqual(after.hits.map((h) => h.id), before.hits.map((h) => h.id));
      assert.ok(before.hits.some((h) => h.id === a));
    }));

  test('links never cross workspaces; reads by id with a workspaceId hide other workspaces\' nodes', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const d1 = node(k, 'One');
      const d2 = node(k, 'Two');
      const b1 = node(k, 'Other', { workspaceId: b });
      cmd(k, 'forest.link.create', { from: d1, to: d2, type: 'relates_to' });
      expectCode(() => cmd(k, 'forest.link.create', { from: d1, to: b1, type: 'relates_to' }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.link.create', { from: b1, to: d1, type: 'relates_to' }), 'invalid_payload');
      assert.equal(k.query('forest.node.get', { workspaceId: b, id: d1 }), null);
      assert.equal((k.query('forest.node.get', { id: b1 }) as { node: { workspaceId: string } }).node.workspaceId, b);
      assert.equal((k.query('forest.node.get', { workspaceId: DEFAULT_WORKSPACE_ID, id: d1 }) as { outgoing: unknown[] }).outgoing.length, 1);
      assert.deepEqual(k.query('forest.links', { workspaceId: b, id: d1 }), []);
      expectCode(() => k.query('forest.traverse', { workspaceId: b, from: d1 }), 'not_found');
      // An update of a node keeps its workspace.
      cmd(k, 'forest.node.update', { nodeId: b1, title: 'Other renamed' });
      assert.deepEqual((k.query('forest.node.list', { workspaceId: b }) as { nodes: { title: string }[] }).nodes.map((n) => n.title), ['Other renamed']);
    }));
});

describe('projects group sessions and Forest nodes inside a workspace', () => {
  const project = (k: Kernel, workspaceId: string, name: string) => value<{ projectId: string }>(k, 'project.create', { workspaceId, name }).projectId;

  test('sessions and nodes filed under a project are listed by it; children and reruns stay in it', () =>
    withMem((k) => {
      const p = project(k, DEFAULT_WORKSPACE_ID, 'Launch');
      const inP = value<{ sessionId: string }>(k, 'session.start', { projectId: p, source: deploy('x') }).sessionId;
      value<{ sessionId: string }>(k, 'session.start', { source: deploy('y') });
      const list = (params: Record<string, unknown>) => (k.query('session.list', params) as { id: string; projectId: string | null }[]);
      assert.deepEqual(list({ projectId: p }).map((s) => s.id), [inP]);
      assert.equal(list({}).length, 2);
      assert.equal(list({ projectId: p })[0]!.projectId, p);
      const fork = value<{ sessionId: string }>(k, 'session.rerun', { sessionId: inP, fromStep: 'a' }).sessionId;
      assert.equal((k.query('session.get', { sessionId: fork }) as { projectId: string }).projectId, p);
      const n = value<{ nodeId: string }>(k, 'forest.node.create', { projectId: p, title: 'Plan' }).nodeId;
      value<{ nodeId: string }>(k, 'forest.node.create', { title: 'Loose' });
      const nodes = k.query('forest.node.list', { projectId: p }) as { nodes: { id: string; projectId: string }[]; total: number };
      assert.deepEqual(nodes.nodes.map((x) => [x.id, x.projectId]), [[n, p]]);
      assert.equal((k.query('forest.node.list', {}) as { total: number }).total, 2);
    }));

  test('a project of another workspace, an unknown or an archived one is refused', () =>
    withMem((k) => {
      const b = createWorkspace(k, 'B');
      const pb = project(k, b, 'In B');
      expectCode(() => cmd(k, 'session.start', { projectId: pb, source: deploy('x') }), 'invalid_payload');
      expectCode(() => cmd(k, 'forest.node.create', { projectId: pb, title: 'T' }), 'invalid_payload');
      expectCode(() => cmd(k, 'session.start', { projectId: crypto.randomUUID(), source: deploy('x') }), 'not_found');
      cmd(k, 'project.archive', { projectId: pb });
      expectCode(() => cmd(k, 'forest.node.create', { workspaceId: b, projectId: pb, title: 'T' }), 'archived');
      cmd(k, 'session.start', { workspaceId: b, source: deploy('x') });
    }));
});

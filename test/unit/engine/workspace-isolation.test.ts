/**
 * The engine keeps a session inside its workspace: a session in workspace B never reads the
 * default workspace's secrets, LLM providers, saved workflows or Forest nodes, and what it writes
 * (Forest nodes, its learning summary, child sessions) lands in B. Against the fake OpenAI server
 * with the real runner set.
 *
 * Invariants checked:
 * 1. `{{ secrets.X }}` resolves in the session's workspace (same name, different values; a name
 *    only the other workspace has renders nothing, so the step fails).
 * 2. llm steps use the providers of the session's workspace, with that workspace's key secret.
 * 3. `workflow` steps and agent workflow tools find saved workflows in the session's workspace only;
 *    child sessions start there.
 * 4. Forest steps, forest.search / forest.write and `context:` retrieval read and write the
 *    session's workspace; learning summaries are written into it.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKSPACE_ID } from '../../../worker/domains/workspaces/index.ts';
import { kernelWorkflowTools } from '../../../worker/engine/agent/workflows.ts';
import { summaryNodeId } from '../../../worker/engine/learning.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { Harness } from './sessions/helpers.ts';

let fake: FakeLlmServer;
before(async () => { fake = await startFakeOpenAI(); });
after(async () => { await fake.close(); });

const D = DEFAULT_WORKSPACE_ID;
const SECRET_D = 'secret-of-the-default-workspace';
const SECRET_B = 'secret-of-workspace-b-only';

async function twoWorkspaces(): Promise<{ h: Harness; b: string }> {
  const h = await Harness.withModels(fake.url, { configure: false });
  const b = (h.cmd('workspace.create', { name: 'B' }) as { workspaceId: string }).workspaceId;
  h.cmd('secret.set', { name: 'API_KEY', value: SECRET_D });
  h.cmd('secret.set', { name: 'ONLY_DEFAULT', value: 'only-in-the-default-workspace' });
  h.cmd('secret.set', { workspaceId: b, name: 'API_KEY', value: SECRET_B });
  h.cmd('llm.provider.set', { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'], apiKeySecret: 'API_KEY' });
  return { h, b };
}

const start = (h: Harness, workspaceId: string, source: string, inputs: Record<string, unknown> = {}): string =>
  (h.cmd('session.start', { workspaceId, source, inputs }) as { sessionId: string }).sessionId;

const LLM = `name: ask
version: 1.0.0
steps:
  - id: ask
    type: llm
    model: fake-model
    prompt: "the key is {{ secrets.API_KEY }}"
`;

describe('workspace isolation in the engine', () => {
  test('secrets and LLM providers come from the session\'s workspace', async () => {
    const { h, b } = await twoWorkspaces();
    try {
      fake.reset();
      // B has no provider yet: the default workspace's is not used.
      const noProvider = start(h, b, LLM);
      const s0 = await h.ended(noProvider);
      assert.equal(s0.status, 'failed');
      assert.equal((s0.error as { type: string }).type, 'runner_unavailable');
      assert.equal(fake.count(), 0);

      h.cmd('llm.provider.set', { workspaceId: b, id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'], apiKeySecret: 'API_KEY' });
      fake.push({ text: 'ok from b' }, { text: 'ok from default' });
      const inB = start(h, b, LLM);
      assert.equal((await h.ended(inB)).status, 'succeeded');
      const inD = start(h, D, LLM);
      assert.equal((await h.ended(inD)).status, 'succeeded');
      const [rb, rd] = fake.requests;
      assert.equal(rb!.headers.authorization, `Bearer ${SECRET_B}`);
      assert.match(JSON.stringify(rb!.body), new RegExp(SECRET_B));
      assert.doesNotMatch(JSON.stringify(rb!.body), new RegExp(SECRET_D));
      assert.equal(rd!.headers.authorization, `Bearer ${SECRET_D}`);
      assert.match(JSON.stringify(rd!.body), new RegExp(SECRET_D));
      // What B recorded never holds B's secret value either (redacted with B's secrets).
      assert.doesNotMatch(JSON.stringify(h.k.readEvents(0, 10_000).map((e) => e.payload)), new RegExp(`${SECRET_B}|${SECRET_D}`));

      const onlyDefault = start(h, b, `name: peek\nversion: 1.0.0\nsteps:\n  - id: peek\n    type: task\n    runner: transform\n    with:\n      value: "{{ secrets.ONLY_DEFAULT }}"\n`);
      const s1 = await h.ended(onlyDefault);
      assert.equal(s1.status, 'failed');
      assert.ok(['template_error', 'invalid_input'].includes((s1.error as { type: string }).type), JSON.stringify(s1.error));
      assert.equal(h.step(onlyDefault, 'peek').status, 'failed');
      assert.doesNotMatch(JSON.stringify(h.k.readEvents(0, 10_000).map((e) => e.payload)), /only-in-the-default-workspace/);
    } finally {
      await h.close();
    }
  });

  test('workflow steps and agent workflow tools find saved workflows in the session\'s workspace only', async () => {
    const { h, b } = await twoWorkspaces();
    try {
      const child = `name: child\nversion: 1.0.0\nsteps:\n  - id: c\n    type: task\n    runner: transform\n    with:\n      value: child-of-default\noutputs:\n  v: "{{ steps.c.output }}"\n`;
      h.cmd('workflow.save', { source: child });
      const parent = `name: parent\nversion: 1.0.0\nsteps:\n  - id: call\n    type: workflow\n    workflow: child\n    inputs: {}\n`;
      const inB = await h.ended(start(h, b, parent));
      assert.equal(inB.status, 'failed');
      assert.match(JSON.stringify(inB.error), /no saved workflow child/);
      const inD = await h.ended(start(h, D, parent));
      assert.equal(inD.status, 'succeeded');
      const children = h.k.query('session.list', { parentId: inD.id }) as { workspaceId: string; workflow: { name: string } }[];
      assert.deepEqual(children.map((c) => [c.workflow.name, c.workspaceId]), [['child', D]]);
      assert.deepEqual(h.k.query('session.list', { workspaceId: b, workflow: 'child' }), []);

      const tools = kernelWorkflowTools(h.k);
      assert.ok('error' in tools.describe('child', b));
      assert.ok('inputSchema' in tools.describe('child', D));
    } finally {
      await h.close();
    }
  });

  test('Forest steps, runners and retrieval read and write the session\'s workspace; summaries go there', async () => {
    const { h, b } = await twoWorkspaces();
    try {
      h.cmd('forest.node.create', { title: 'Rollback runbook', body: 'Default workspace knowledge.', tags: ['runbook'] });
      const flow = `name: recall
version: 1.0.0
steps:
  - id: find
    type: forest
    query: rollback
  - id: note
    type: task
    runner: forest.write
    dependsOn: [find]
    with:
      title: "found {{ steps.find.output.total }} rollback notes"
      tags: [note]
outputs:
  total: "{{ steps.find.output.total }}"
`;
      const sb = await h.ended(start(h, b, flow));
      assert.equal(sb.status, 'succeeded');
      assert.deepEqual(sb.output, { total: 0 }, 'B does not see the default workspace\'s node');
      const bNodes = (h.k.query('forest.node.list', { workspaceId: b }) as { nodes: { id: string; title: string; workspaceId: string }[] }).nodes;
      assert.deepEqual(bNodes.map((n) => n.title).sort(), ['found 0 rollback notes', `recall run ${sb.id.slice(-8)}: succeeded`]);
      assert.ok(bNodes.some((n) => n.id === summaryNodeId(sb.id)), 'the learning summary is in B');
      const sd = await h.ended(start(h, D, flow));
      assert.deepEqual(sd.output, { total: 1 });
      const dTitles = (h.k.query('forest.node.list', {}) as { nodes: { title: string }[] }).nodes.map((n) => n.title);
      assert.ok(dTitles.includes('found 1 rollback notes'));
      assert.ok(!dTitles.includes('found 0 rollback notes'));

      const ctx = `name: ctx
version: 1.0.0
steps:
  - id: ask
    type: llm
    model: fake-model
    context:
      notes: { forest: { query: rollback } }
    prompt: "notes: {{ context.notes }}"
`;
      h.cmd('llm.provider.set', { workspaceId: b, id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] });
      fake.reset();
      fake.push({ text: 'b' }, { text: 'd' });
      assert.equal((await h.ended(start(h, b, ctx))).status, 'succeeded');
      assert.equal((await h.ended(start(h, D, ctx))).status, 'succeeded');
      assert.doesNotMatch(JSON.stringify(fake.requests[0]!.body), /Rollback runbook/);
      assert.match(JSON.stringify(fake.requests[1]!.body), /Rollback runbook/);
    } finally {
      await h.close();
    }
  });

  test('nodes a session filed under a project writes go into that project', async () => {
    const { h, b } = await twoWorkspaces();
    try {
      const p = (h.cmd('project.create', { workspaceId: b, name: 'Launch' }) as { projectId: string }).projectId;
      const flow = `name: note\nversion: 1.0.0\nsteps:\n  - id: w\n    type: task\n    runner: forest.write\n    with:\n      title: a note\n`;
      const s = (h.cmd('session.start', { workspaceId: b, projectId: p, source: flow }) as { sessionId: string }).sessionId;
      assert.equal((await h.ended(s)).status, 'succeeded');
      const filed = h.k.query('forest.node.list', { workspaceId: b, projectId: p }) as { nodes: { title: string }[] };
      assert.deepEqual(filed.nodes.map((n) => n.title).sort(), ['a note', `note run ${s.slice(-8)}: succeeded`]);
    } finally {
      await h.close();
    }
  });
});

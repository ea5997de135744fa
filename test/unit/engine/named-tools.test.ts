/**
 * Execution by name (docs/manifests.md, "Execution by name") through the kernel and the engine,
 * with http Tools calling a real HTTP server on 127.0.0.1 and agents against the fake OpenAI
 * server:
 * - an http Tool's request (parameter defaults, the workspace's secrets) goes through the http
 *   runner and its output is the http runner's; a transform Tool's through the transform runner;
 * - a running session keeps the Tool version it started with across an upgrade and a removal;
 * - unknown runners, Tools outside the import range, removed Tools, unknown Agents and wrong
 *   `with:` values are refused at start, each at its line; templated values are checked at run time;
 * - saving never waits for a Tool; workflow.check shows the same issues as warnings;
 * - the host's own runners are not unknown; an agent step names an Agent manifest.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { KernelError } from '../../../worker/kernel/errors.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { startRecordServer, type RecordServer } from '../../helpers/record-server.ts';
import { Harness } from './sessions/helpers.ts';

let fake: FakeLlmServer;
let server: RecordServer;
before(async () => {
  fake = await startFakeOpenAI();
  server = await startRecordServer();
});
after(async () => {
  await fake.close();
  await server.close();
});

const fixture = (path: string): string => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
const pingTool = (version: string, path: string): string => `kind: Tool
name: acme.ping
version: ${version}
description: Ping a target
runner: http
parameters:
  target: { type: string, required: true, description: What to ping }
  count: { type: number, default: 3 }
  mode: { type: string, enum: [fast, slow] }
http:
  method: POST
  url: "${server.url}${path}"
  headers: { X-Token: "{{secrets.PING_TOKEN}}" }
  body: { target: "{{params.target}}", count: "{{params.count}}", mode: "{{params.mode}}" }
`;
const SHAPE_TOOL = `kind: Tool
name: acme.shape
version: 1.0.0
runner: transform
parameters:
  status: { type: number, required: true }
  label: { type: string, default: pong }
transform:
  expression: "{ ok: params.status == 200, label: params.label }"
`;

const open = async (): Promise<Harness> => {
  const h = await Harness.withModels(fake.url);
  h.cmd('secret.set', { name: 'PING_TOKEN', value: 'tok-ping-9' });
  return h;
};

/** The error of a command that must be refused. */
function refused(h: Harness, type: string, payload: unknown): KernelError {
  try {
    h.cmd(type, payload);
  } catch (err) {
    if (err instanceof KernelError) return err;
    throw err;
  }
  throw new Error(`${type} was not refused`);
}

type Issue = { path: string; line: number; column: number; code: string; message: string };
const issuesOf = (err: KernelError): Issue[] => (err.details as { issues: Issue[] }).issues;
const lineOf = (source: string, text: string, from = 0): number => source.split('\n').findIndex((l, i) => i >= from && l.includes(text)) + 1;

describe('Tools at run time', () => {
  test('an http Tool through the http runner (defaults, secrets); a transform Tool through the transform runner', async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/a') });
      h.cmd('manifest.apply', { source: SHAPE_TOOL });
      const flow = 'name: pinger\nversion: 1.0.0\ninputs:\n  t: { type: string }\nsteps:\n  - { id: ping, type: task, runner: acme.ping, with: { target: "{{ inputs.t }}", mode: fast } }\n  - { id: shape, type: task, runner: acme.shape, dependsOn: [ping], with: { status: "{{ steps.ping.output.status }}" } }\noutputs:\n  shaped: "{{ steps.shape.output }}"\n';
      const id = h.start(flow, { t: 'db-1' });
      const s = await h.ended(id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error ?? s.steps.map((x) => x.error)));
      const sent = server.to('/ping/a').at(-1)!;
      assert.deepEqual(sent.body, { target: 'db-1', count: 3, mode: 'fast' }, 'the default count applied');
      assert.equal(sent.headers['x-token'], 'tok-ping-9');
      assert.equal(sent.headers['idempotency-key'], `${id}/ping/1`);
      const ping = h.step(id, 'ping').output as { status: number; body: unknown; headers: Record<string, string> };
      assert.equal(ping.status, 200);
      assert.deepEqual(ping.body, { ok: true, path: '/ping/a', received: { target: 'db-1', count: 3, mode: 'fast' } });
      assert.deepEqual(s.output, { shaped: { ok: true, label: 'pong' } });
    } finally {
      await h.close();
    }
  });

  test('a templated value outside the enum fails the step when it runs (invalid_input); nothing is sent', async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/enum') });
      const id = h.start('name: p\nversion: 1.0.0\ninputs:\n  m: { type: string }\nsteps:\n  - { id: ping, type: task, runner: acme.ping, with: { target: x, mode: "{{ inputs.m }}" } }\n', { m: 'turbo' });
      const s = await h.ended(id);
      assert.equal(s.status, 'failed');
      const err = h.step(id, 'ping').error!;
      assert.equal(err.type, 'invalid_input');
      assert.match(err.message, /Tool acme\.ping@1\.0\.0: the parameter "mode" .* must be one of "fast", "slow", got "turbo"/);
      assert.equal(server.to('/ping/enum').length, 0);
    } finally {
      await h.close();
    }
  });

  test("the workspace policy judges a Tool: its own name and the host its http block calls; nothing is sent when denied", async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/policy') });
      const flow = 'name: guarded\nversion: 1.0.0\nsteps:\n  - { id: ping, type: task, runner: acme.ping, with: { target: db } }\n';
      const host = new URL(server.url).host;
      h.cmd('policy.set', { hosts: { allow: [], deny: [host] }, runners: { allow: [], deny: [] } });
      const byHost = await h.ended(h.start(flow));
      assert.equal(byHost.status, 'failed');
      assert.equal(byHost.steps.find((x) => x.key === 'ping')?.error?.type, 'policy_denied', 'the Tool\'s http call is a call like any other');
      h.cmd('policy.set', { hosts: { allow: [], deny: [] }, runners: { allow: [], deny: ['acme.*'] } });
      const byName = await h.ended(h.start(flow));
      assert.equal(byName.steps.find((x) => x.key === 'ping')?.error?.type, 'policy_denied', 'the Tool is a runner the policy names');
      assert.equal(server.to('/ping/policy').length, 0, 'nothing reached the server');
    } finally {
      await h.close();
    }
  });

  test('upgrade the Tool mid-run: the running session still calls the old version; a new one calls the new', async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/v1') });
      const flow = 'name: later\nversion: 1.0.0\nsteps:\n  - { id: nap, type: wait, duration: 1m }\n  - { id: ping, type: task, runner: acme.ping, dependsOn: [nap], with: { target: db } }\n';
      const old = h.start(flow);
      await h.settle();
      h.cmd('manifest.apply', { source: pingTool('1.1.0', '/ping/v2') });
      h.cmd('manifest.remove', { kind: 'Tool', name: 'acme.ping', version: '1.0.0' });
      const fresh = h.start(flow);
      await h.settle();
      await h.advance(60_000);
      for (const id of [old, fresh]) assert.equal((await h.ended(id)).status, 'succeeded', JSON.stringify(h.get(id).steps));
      assert.equal(server.to('/ping/v1').filter((r) => r.headers['idempotency-key'] === `${old}/ping/1`).length, 1, 'the old session called 1.0.0, removed meanwhile');
      assert.equal(server.to('/ping/v2').filter((r) => r.headers['idempotency-key'] === `${fresh}/ping/1`).length, 1, 'the new session calls 1.1.0');
      assert.equal(server.to('/ping/v2').filter((r) => r.headers['idempotency-key'] === `${old}/ping/1`).length, 0);
      const pinned = (id: string): string[] => (h.payloads<{ pinned: { name: string; version: string; hash: string }[] }>(id, 'session.started')[0]!.pinned).map((p) => `${p.name}@${p.version}`);
      assert.deepEqual(pinned(old), ['acme.ping@1.0.0']);
      assert.deepEqual(pinned(fresh), ['acme.ping@1.1.0']);
    } finally {
      await h.close();
    }
  });
});

describe('found at validation, not at run time', () => {
  test('an unknown runner is refused at start at its line, with the fix; saving still works', async () => {
    const h = await open();
    try {
      const spec = fixture('workflows/spec/deploy_service.yaml');
      const err = refused(h, 'session.start', { source: spec, inputs: { service: 'api', version: '1', environment: 'dev' } });
      assert.equal(err.code, 'invalid_workflow');
      const issues = issuesOf(err);
      const deployLine = lineOf(spec, 'runner: runner.deploy');
      assert.deepEqual(issues.map((i) => [i.code, i.path, i.line]), [
        ['unknown_runner', 'steps[1].condition.then[0].task.runner', deployLine],
        ['unknown_runner', 'steps[1].condition.else[0].task.runner', lineOf(spec, 'runner: runner.notify')],
      ]);
      assert.equal(issues[0]!.column, spec.split('\n')[deployLine - 1]!.indexOf('runner.deploy') + 1, 'at the runner name');
      assert.equal(issues[0]!.message, 'runner.deploy is not a built-in runner and no Tool named runner.deploy is installed in this workspace; apply its Tool manifest or install a kata that brings it');
      assert.equal(h.k.query('session.list', {}) instanceof Array ? (h.k.query('session.list', {}) as unknown[]).length : -1, 0, 'no session');

      const saved = h.cmd('workflow.save', { source: spec }) as { revision: number };
      assert.equal(saved.revision, 1, 'saving does not wait for the Tool');
      const checked = h.k.query('workflow.check', { source: spec }) as { ok: boolean; warnings: Issue[] };
      assert.equal(checked.ok, true);
      assert.deepEqual(checked.warnings.filter((w) => w.code === 'unknown_runner').map((w) => w.line), [deployLine, lineOf(spec, 'runner: runner.notify')], 'the editor shows the same issues as warnings');
      assert.deepEqual((h.k.query('workflow.validate', { source: spec }) as { warnings: Issue[] }).warnings.filter((w) => w.code === 'unknown_runner'), [], 'workflow.validate stays the plain file check');

      h.cmd('manifest.apply', { source: fixture('manifests/tool-deploy.yaml') });
      h.cmd('manifest.apply', { source: fixture('manifests/tool-notify.yaml') });
      assert.deepEqual((h.k.query('workflow.check', { source: spec }) as { warnings: Issue[] }).warnings, [], 'nothing left once both Tools are installed');
    } finally {
      await h.close();
    }
  });

  test('a Tool removed before start, or installed outside the import range, is refused at start', async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/r') });
      h.cmd('manifest.remove', { kind: 'Tool', name: 'acme.ping', version: '1.0.0' });
      const flow = 'name: r\nversion: 1.0.0\nsteps:\n  - { id: ping, type: task, runner: acme.ping, with: { target: db } }\n';
      assert.equal(issuesOf(refused(h, 'session.start', { source: flow }))[0]!.code, 'unknown_runner');
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/r') });
      const ranged = `kind: Workflow\nimports:\n  - { kind: Tool, name: acme.ping, version: ^2.0.0 }\n${flow}`;
      const [issue] = issuesOf(refused(h, 'session.start', { source: ranged }));
      assert.equal(issue!.line, lineOf(ranged, 'runner: acme.ping'));
      assert.match(issue!.message, /no installed version of the Tool acme\.ping is in the range \^2\.0\.0 \(installed: 1\.0\.0\)/);
      h.cmd('manifest.apply', { source: pingTool('2.1.0', '/ping/r2') });
      assert.ok(h.start(ranged), 'starts once a version in range is installed');
    } finally {
      await h.close();
    }
  });

  test("with: is checked against the Tool's parameters, each issue at its line", async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: pingTool('1.0.0', '/ping/p') });
      const flow = 'name: params\nversion: 1.0.0\ninputs:\n  c: { type: string }\nsteps:\n  - id: a\n    type: task\n    runner: acme.ping\n    with:\n      targt: db\n      mode: turbo\n  - id: b\n    type: task\n    runner: acme.ping\n    with:\n      target: db\n      count: many\n  - id: c\n    type: task\n    runner: acme.ping\n    with:\n      target: db\n      count: "{{ inputs.c }}"\n';
      const issues = issuesOf(refused(h, 'session.start', { source: flow, inputs: { c: '2' } }));
      assert.deepEqual(issues.map((i) => [i.code, i.path, i.line]), [
        ['missing_key', 'steps[0].with', 10],
        ['unknown_key', 'steps[0].with.targt', 10],
        ['invalid_value', 'steps[0].with.mode', 11],
        ['invalid_type', 'steps[1].with.count', 17],
      ], 'the templated count of step c is left for run time');
      assert.match(issues.find((i) => i.code === 'unknown_key')!.message, /no parameter "targt" — did you mean "target"\?/);
      assert.match(issues.find((i) => i.code === 'missing_key')!.message, /needs the parameter "target" \(string: What to ping\)/);
    } finally {
      await h.close();
    }
  });

  test("the host's own runners are not unknown while its engine runs", async () => {
    const h = await Harness.open();
    try {
      const flow = 'name: own\nversion: 1.0.0\nsteps:\n  - { id: e, type: task, runner: test.echo, with: { value: 1 } }\n';
      assert.equal((await h.ended(h.start(flow))).status, 'succeeded');
      h.engine.stop();
      assert.equal(issuesOf(refused(h, 'session.start', { source: flow }))[0]!.code, 'unknown_runner', 'without the engine, test.echo is nobody\'s runner');
    } finally {
      await h.close();
    }
  });
});

describe('Agents by name', () => {
  const AGENT = `kind: Agent
name: code-reviewer
version: 0.3.1
persona: You review changes carefully and say what to fix.
model: { provider: fake, name: fake-model }
tools: [runner.notify]
outputSchema: { type: object, required: [verdict], properties: { verdict: { type: string } } }
maxTurns: 4
`;
  const FLOW = 'name: review\nversion: 1.0.0\nimports:\n  - { kind: Agent, name: code-reviewer, version: ^0.3.0 }\ninputs:\n  pr: { type: string }\nsteps:\n  - id: review\n    type: agent\n    agent: code-reviewer\n    prompt: "Review {{ inputs.pr }}"\n';

  test("an agent step takes the Agent manifest's persona, model, tools (Tools by name) and output schema", async () => {
    const h = await open();
    try {
      h.cmd('manifest.apply', { source: fixture('manifests/tool-notify.yaml') });
      h.cmd('manifest.apply', { source: AGENT });
      fake.reset();
      fake.push({ toolCalls: [{ name: 'tool_runner_notify', arguments: { message: 'looks fine' } }] }, { toolCalls: [{ name: 'final_answer', arguments: { verdict: 'approve' } }] });
      const id = h.start(FLOW, { pr: '#42' });
      const s = await h.ended(id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual((h.step(id, 'review').output as { json: unknown }).json, { verdict: 'approve' });
      const first = fake.requests[0]!.body as { model: string; messages: { role: string; content: string }[]; tools: { function: { name: string; parameters: unknown } }[] };
      assert.equal(first.model, 'fake-model');
      assert.equal(first.messages[0]!.role, 'system');
      assert.match(first.messages[0]!.content, /You review changes carefully/);
      const notify = first.tools.find((t) => t.function.name === 'tool_runner_notify');
      assert.deepEqual(notify?.function.parameters, { type: 'object', properties: { message: { type: 'string' } }, required: ['message'], additionalProperties: false });
      const obs = h.payloads<{ tool: string; ok: boolean; content: string }>(id, 'agent.observation');
      assert.deepEqual(obs.map((o) => [o.tool, o.ok]), [['tool_runner_notify', true]]);
      assert.deepEqual(JSON.parse(obs[0]!.content), { notified: true, message: 'looks fine' });
      const pinned = h.payloads<{ pinned: { kind: string; name: string; version: string }[] }>(id, 'session.started')[0]!.pinned;
      assert.deepEqual(pinned.map((p) => `${p.kind}/${p.name}@${p.version}`), ['Agent/code-reviewer@0.3.1', 'Tool/runner.notify@1.2.0'], "the Agent and its Tool pinned");
    } finally {
      await h.close();
    }
  });

  test('an Agent that is not installed, or whose Tool is not, is refused at start at the agent line', async () => {
    const h = await open();
    try {
      const line = lineOf(FLOW, 'agent: code-reviewer');
      let issues = issuesOf(refused(h, 'session.start', { source: FLOW, inputs: { pr: '1' } }));
      assert.deepEqual(issues.map((i) => [i.code, i.line]), [['unknown_agent', line]]);
      h.cmd('manifest.apply', { source: AGENT });
      issues = issuesOf(refused(h, 'session.start', { source: FLOW, inputs: { pr: '1' } }));
      assert.deepEqual(issues.map((i) => [i.code, i.line]), [['unknown_runner', line]]);
      assert.match(issues[0]!.message, /the Agent code-reviewer@0\.3\.1 calls the Tool runner\.notify/);
      const withModel = FLOW.replace('    agent: code-reviewer\n', '    agent: code-reviewer\n    model: gpt-4o\n');
      const parsed = h.k.query('workflow.validate', { source: withModel }) as { ok: boolean; errors: Issue[] };
      assert.equal(parsed.ok, false);
      assert.match(parsed.errors[0]!.message, /model comes from the Agent manifest code-reviewer/);
    } finally {
      await h.close();
    }
  });
});

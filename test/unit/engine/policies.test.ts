/**
 * Workspace policies at run time (worker/engine/policy-guard.ts), against a real HTTP server on
 * 127.0.0.1 that counts the requests it gets:
 * - an allowed host is called; a denied one fails the step with `policy_denied` (not retryable,
 *   even under a retry policy), its sentence naming the host and the rule, and no request arrives;
 * - wildcard and port rules, allow-list semantics, deny winning over allow;
 * - a denied runner (`demo.*`, `transform`) fails its step without running;
 * - a policy changed while a session runs applies to its next call;
 * - every refusal is a `policy.violation` audit entry whose event holds the rule and the step;
 * - an agent's http tool call to a denied host is refused as an observation, audited, no request;
 * - policies are per workspace.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { Harness, until } from './sessions/helpers.ts';

let fx: EffectServer;
let fake: FakeLlmServer;
let port: number;
before(async () => {
  fx = await startEffectServer();
  fake = await startFakeOpenAI();
  port = Number(new URL(fx.url).port);
});
after(async () => {
  await fx.close();
  await fake.close();
});

type Lists = { allow?: string[]; deny?: string[] };
const policy = (h: Harness, hosts: Lists = {}, runners: Lists = {}, workspaceId?: string): void => {
  h.cmd('policy.set', { ...(workspaceId ? { workspaceId } : {}), hosts: { allow: hosts.allow ?? [], deny: hosts.deny ?? [] }, runners: { allow: runners.allow ?? [], deny: runners.deny ?? [] } });
};

const call = (url: string, retry = ''): string => `
name: call
version: 1.0.0
steps:
  - id: call
    type: task
    runner: http
    with: { url: "${url}" }${retry}
`;

interface Violation { kind: string; target: string; rule: string | null; list: string; runner: string; sessionId: string; stepKey: string; message: string }
const violations = (h: Harness, workspaceId?: string): Violation[] => h.k.query('policy.violations', workspaceId ? { workspaceId } : {}) as Violation[];

async function run(h: Harness, source: string): Promise<{ id: string; status: string; error: { type: string; message: string; retryable?: boolean; details?: Record<string, unknown> } | null }> {
  const id = h.start(source);
  const s = await h.ended(id);
  return { id, status: s.status, error: s.error as never };
}

describe('host policy at run time', () => {
  test('an allowed host is called; a denied one fails with policy_denied and gets no request', async () => {
    const h = await Harness.open();
    try {
      fx.reset();
      policy(h, { allow: [`127.0.0.1:${port}`] });
      const ok = await run(h, call(`${fx.url}/effect/allowed`));
      assert.equal(ok.status, 'succeeded', JSON.stringify(ok.error));
      assert.equal(fx.requests('allowed'), 1);

      policy(h, { deny: ['127.0.0.1'] });
      const denied = await run(h, call(`${fx.url}/effect/denied?token=abc`, '\n    retry: { maxAttempts: 3, initialDelay: 1ms }'));
      assert.equal(denied.status, 'failed');
      assert.equal(denied.error!.type, 'policy_denied');
      assert.equal(denied.error!.message, `The workspace policy does not allow calls to 127.0.0.1:${port} (denied by 127.0.0.1). Change the policy in Settings → Policies if this call is intended.`);
      assert.equal(h.step(denied.id, 'call').attempts, 1, 'not retried, even under a retry policy');
      assert.equal((h.step(denied.id, 'call').error as unknown as { retryable: boolean }).retryable, false);
      assert.equal(fx.requests('denied'), 0, 'no request reached the server');
      assert.equal(fx.requests(), 1);

      // The audit chain holds the refusal; its event names what, which rule, which step (never the URL's query).
      const [v] = violations(h);
      assert.deepEqual({ kind: v!.kind, target: v!.target, rule: v!.rule, list: v!.list, runner: v!.runner, sessionId: v!.sessionId, stepKey: v!.stepKey },
        { kind: 'host', target: `127.0.0.1:${port}`, rule: '127.0.0.1', list: 'deny', runner: 'http', sessionId: denied.id, stepKey: 'call' });
      const audit = (h.k.query('audit.list', { limit: 1000 }) as { action: string; eventSeq: number; actor: string }[]).filter((a) => a.action === 'policy.violation');
      assert.equal(audit.length, 1);
      assert.equal(audit[0]!.actor, 'engine');
      const ev = h.k.query('events.get', { seq: audit[0]!.eventSeq }) as { type: string; payload: Violation };
      assert.equal(ev.type, 'policy.violated');
      assert.equal(ev.payload.rule, '127.0.0.1');
      assert.doesNotMatch(JSON.stringify(ev.payload), /token=abc/);
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test('wildcards, ports and the allow list decide; deny wins over allow', async () => {
    const h = await Harness.open();
    try {
      fx.reset();
      policy(h, { deny: ['*.localhost', `127.0.0.1:${port + 1}`] });
      const sub = await run(h, call(`http://api.localhost:${port}/effect/sub`));
      assert.equal(sub.error?.type, 'policy_denied');
      assert.match(sub.error!.message, /calls to api\.localhost:\d+ \(denied by \*\.localhost\)/);
      assert.equal((await run(h, call(`${fx.url}/effect/other-port`))).status, 'succeeded', 'a port rule leaves other ports alone');

      policy(h, { deny: [`127.0.0.1:${port}`] });
      assert.equal((await run(h, call(`${fx.url}/effect/this-port`))).error?.type, 'policy_denied');

      policy(h, { allow: ['*.example.com'] });
      const outside = await run(h, call(`${fx.url}/effect/outside`));
      assert.equal(outside.error?.type, 'policy_denied');
      assert.match(outside.error!.message, /\(not in the allowed hosts\)/);

      policy(h, { allow: ['127.0.0.1'], deny: [`127.0.0.1:${port}`] });
      assert.match((await run(h, call(`${fx.url}/effect/both`))).error!.message, new RegExp(`denied by 127\\.0\\.0\\.1:${port}`));

      assert.equal(fx.requests('sub') + fx.requests('this-port') + fx.requests('outside') + fx.requests('both'), 0);
      assert.equal(fx.requests('other-port'), 1);
      assert.deepEqual(violations(h).map((v) => v.rule), [`127.0.0.1:${port}`, null, `127.0.0.1:${port}`, '*.localhost']);
    } finally {
      await h.close();
    }
  });

  test('a policy changed while a session runs applies to its next call', async () => {
    const h = await Harness.open();
    try {
      fx.reset();
      const id = h.start(`
name: two_calls
version: 1.0.0
steps:
  - id: first
    type: task
    runner: http
    with: { url: "${fx.url}/effect/first" }
  - id: pause
    type: task
    runner: test.sleep
    dependsOn: [first]
    with: { ms: 1000 }
  - id: second
    type: task
    runner: http
    dependsOn: [pause]
    with: { url: "${fx.url}/effect/second" }
`);
      await until(() => h.probe.started.includes('pause'), 'the pause step to run');
      assert.equal(fx.requests('first'), 1);
      policy(h, { deny: ['127.0.0.1'] });
      await h.advance(1000);
      const s = await h.ended(id);
      assert.equal(s.status, 'failed');
      assert.equal(s.failedStep, 'second');
      assert.equal(h.step(id, 'second').error!.type, 'policy_denied');
      assert.equal(fx.requests('second'), 0);
    } finally {
      await h.close();
    }
  });
});

describe('runner policy at run time', () => {
  test('a denied runner fails its step without running; others run', async () => {
    const h = await Harness.open();
    try {
      policy(h, {}, { deny: ['demo.*'] });
      const src = `
name: runners
version: 1.0.0
steps:
  - id: shape
    type: task
    runner: transform
    with: { value: 1 }
  - id: flaky
    type: task
    runner: demo.flaky
    dependsOn: [shape]
    with: { failTimes: 0, value: 2 }
`;
      const r = await run(h, src);
      assert.equal(r.status, 'failed');
      assert.equal(h.step(r.id, 'shape').status, 'succeeded');
      assert.equal(h.step(r.id, 'flaky').error!.type, 'policy_denied');
      assert.equal(r.error!.message, 'The workspace policy does not allow the runner demo.flaky (denied by demo.*). Change the policy in Settings → Policies if this call is intended.');

      policy(h, {}, { allow: ['demo.*'] });
      const r2 = await run(h, src);
      assert.equal(h.step(r2.id, 'shape').error!.type, 'policy_denied', 'transform is not in the allow list');
      assert.match(h.step(r2.id, 'shape').error!.message, /the runner transform \(not in the allowed runners\)/);

      policy(h, {}, {});
      assert.equal((await run(h, src)).status, 'succeeded', 'an empty policy allows everything again');
      assert.deepEqual(violations(h).map((v) => [v.kind, v.target, v.rule]), [['runner', 'transform', null], ['runner', 'demo.flaky', 'demo.*']]);
    } finally {
      await h.close();
    }
  });

  test('policies are per workspace', async () => {
    const h = await Harness.open();
    try {
      fx.reset();
      const b = (h.cmd('workspace.create', { name: 'B' }) as { workspaceId: string }).workspaceId;
      policy(h, { deny: ['127.0.0.1'] }, {}, b);
      const inB = (h.cmd('session.start', { workspaceId: b, source: call(`${fx.url}/effect/in-b`), inputs: {} }) as { sessionId: string }).sessionId;
      assert.equal((await h.ended(inB)).error?.type, 'policy_denied');
      assert.equal((await run(h, call(`${fx.url}/effect/in-default`))).status, 'succeeded');
      assert.equal(fx.requests('in-b'), 0);
      assert.equal(fx.requests('in-default'), 1);
      assert.equal(violations(h, b).length, 1);
      assert.equal(violations(h).length, 0);
    } finally {
      await h.close();
    }
  });
});

describe('agent tool calls', () => {
  test('an http tool call to a denied host is refused as an observation, audited, and sends nothing', async () => {
    const h = await Harness.withModels(fake.url);
    try {
      fx.reset();
      fake.reset();
      policy(h, { deny: [`127.0.0.1:${port}`] });
      fake.push({ toolCalls: [{ name: 'http_request', arguments: { url: `${fx.url}/effect/agent` } }] }, { text: 'The call was refused.' });
      const r = await run(h, `
name: agent_call
version: 1.0.0
steps:
  - id: look
    type: agent
    model: fake-model
    prompt: "Call the service."
    maxTurns: 3
    tools:
      - http
`);
      assert.equal(r.status, 'succeeded', JSON.stringify(r.error));
      assert.equal(fx.requests('agent'), 0);
      const [obs] = h.payloads<{ ok: boolean; error: { type: string; message: string } }>(r.id, 'agent.observation');
      assert.equal(obs!.ok, false);
      assert.equal(obs!.error.type, 'policy_denied');
      const told = (fake.requests[1]!.body as { messages: { role: string; content: string }[] }).messages.find((m) => m.role === 'tool');
      assert.match(told!.content, /does not allow calls to 127\.0\.0\.1/, 'the model is told why');
      const [v] = violations(h);
      assert.deepEqual([v!.kind, v!.runner, v!.stepKey, v!.rule], ['host', 'http', 'look', `127.0.0.1:${port}`]);
    } finally {
      await h.close();
    }
  });
});

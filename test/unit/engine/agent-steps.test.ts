/**
 * Agent steps through the engine, against the fake OpenAI server and an effect server (real HTTP
 * on 127.0.0.1):
 * - a four-turn loop over forest_search, http_request, a workflow tool and forest_write ends with a
 *   validated final_answer; every turn and observation is an event; the model saw each result;
 * - resume after the engine stops mid-loop: recorded turns are not sent again, recorded tool calls
 *   do not run again, the call in flight runs again with the same key (its effect counts once);
 * - an invalid final answer is fed back and costs a turn; a loop without an answer ends typed
 *   (max_turns / invalid_output), and the last turn is forced to answer;
 * - http calls outside `allow` are refused as observations without any request.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';
import { startFakeAnthropic } from '../../helpers/fake-anthropic.ts';
import { Harness, START, until, type SessionView } from './sessions/helpers.ts';

let fake: FakeLlmServer;
let fx: EffectServer;
let dir: string;
before(async () => {
  fake = await startFakeOpenAI();
  fx = await startEffectServer();
  dir = mkdtempSync(join(tmpdir(), 'kingdom-agent-'));
});
after(async () => {
  await fake.close();
  await fx.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openAgent(options: { file?: string; clock?: ManualClock; configure?: boolean } = {}): Promise<Harness> {
  const h = await Harness.withModels(fake.url, options);
  if (options.configure !== false) h.cmd('workflow.save', { source: CHECK });
  return h;
}

const settled = (h: Harness, id: string, rounds = 200): Promise<SessionView> => h.ended(id, { rounds });

const CHECK = `
name: health-check
version: 1.0.0
description: Checks one service and says whether it is healthy.
inputs:
  service: { type: string, required: true, description: The service name }
steps:
  - id: look
    type: task
    runner: transform
    with: { value: "{{ inputs.service }} is healthy" }
outputs:
  verdict: "{{ steps.look.output }}"
`;

const agentWorkflow = (fxUrl: string, maxTurns = 6): string => `
name: triage
version: 1.0.0
inputs:
  alert: { type: string, default: "api-gateway 502s" }
steps:
  - id: investigate
    type: agent
    model: fake-model
    system: You are an on-call engineer.
    prompt: "Investigate: {{ inputs.alert }}"
    maxTurns: ${maxTurns}
    tools:
      - forest.search
      - forest.write
      - http: { allow: ["${fxUrl}/effect/", "${fxUrl}/slow/"], methods: [GET, POST] }
      - workflow: health-check
    outputSchema:
      type: object
      required: [cause, action]
      properties:
        cause: { type: string }
        action: { type: string, enum: [rollback, restart, ignore] }
outputs:
  action: "{{ steps.investigate.output.json.action }}"
`;

interface Body { messages: { role: string; content: string | null; tool_calls?: { id: string; function: { name: string } }[]; tool_call_id?: string }[]; tools?: { function: { name: string } }[]; tool_choice?: unknown }
const body = (i: number): Body => fake.requests[i]!.body as Body;

describe('agent steps: the loop', () => {
  test('tools over four turns, then a validated final answer; every turn and observation is an event', async () => {
    const h = await openAgent();
    fake.reset();
    fx.reset();
    h.cmd('forest.node.create', { title: 'Runbook: gateway 502', body: 'Roll back the last deploy when 502s follow a release.', tags: ['runbook'] });
    fake.push(
      { toolCalls: [{ name: 'forest_search', arguments: { query: 'gateway 502' } }] },
      { toolCalls: [{ name: 'http_request', arguments: { url: `${fx.url}/effect/probe`, method: 'POST' } }, { name: 'workflow_health-check', arguments: { service: 'api-gateway' } }] },
      { text: 'Writing down what I found.', toolCalls: [{ name: 'forest_write', arguments: { title: 'Incident: gateway 502 after deploy', body: 'Rolled back.', tags: ['incident'] } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'bad deploy', action: 'rollback' } }] },
    );
    try {
      const id = h.start(agentWorkflow(fx.url));
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { action: 'rollback' });
      assert.equal(fake.count(), 4);
      assert.equal(fx.counts().get('probe'), 1);

      // The model was told the tools, and got each result back before its next turn.
      assert.deepEqual(body(0).tools!.map((t) => t.function.name), ['forest_search', 'forest_write', 'http_request', 'workflow_health-check', 'final_answer']);
      const second = body(1).messages;
      assert.deepEqual(second.map((m) => m.role), ['system', 'user', 'assistant', 'tool']);
      assert.match(String(second[3]!.content), /Runbook: gateway 502/);
      const fourth = body(3).messages;
      const results = fourth.filter((m) => m.role === 'tool').map((m) => String(m.content));
      assert.equal(results.length, 4);
      assert.match(results[1]!, /"status":200/);
      assert.match(results[2]!, /api-gateway is healthy/);
      assert.match(results[3]!, /nodeId/);

      // Events: turns and observations, in order, in the session's own stream.
      const types = h.stepEvents(id, 'investigate').filter((t) => t.startsWith('agent.'));
      assert.deepEqual(types, ['agent.turn', 'agent.observation', 'agent.turn', 'agent.observation', 'agent.observation', 'agent.turn', 'agent.observation', 'agent.turn']);
      const turns = h.payloads<{ turn: number; toolCalls: { name: string }[] }>(id, 'agent.turn');
      assert.deepEqual(turns.map((t) => t.toolCalls.map((c) => c.name)), [['forest_search'], ['http_request', 'workflow_health-check'], ['forest_write'], ['final_answer']]);
      const obs = h.payloads<{ tool: string; ok: boolean; content: string }>(id, 'agent.observation');
      assert.ok(obs.every((o) => o.ok), JSON.stringify(obs));

      // The workflow tool ran a child session of this step; the written node is in the Forest.
      const child = h.k.sql.get('SELECT status, parent_id, parent_step FROM sessions WHERE workflow_name = ?', ['health-check']);
      assert.deepEqual(child, { status: 'succeeded', parent_id: id, parent_step: 'investigate' });
      const out = h.step(id, 'investigate').output as { turns: number; toolCalls: number; read: string[]; wrote: string[] };
      assert.deepEqual([out.turns, out.toolCalls, out.read.length, out.wrote.length], [4, 4, 1, 1]);
      const hits = h.k.query('forest.search', { query: 'Incident gateway' }) as { hits: { id: string }[] };
      assert.deepEqual(hits.hits.map((x) => x.id), out.wrote);
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test('an invalid final answer is fed back and costs a turn; the last turn is forced to answer', async () => {
    const h = await openAgent();
    fake.reset();
    fake.push(
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'x', action: 'panic' } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'config drift', action: 'restart' } }] },
    );
    try {
      const id = h.start(agentWorkflow(fx.url, 2));
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { action: 'restart' });
      const fed = body(1).messages.at(-1)!;
      assert.equal(fed.role, 'tool');
      assert.match(String(fed.content), /did not match the schema.*action/);
      assert.equal(body(0).tool_choice, 'auto');
      assert.deepEqual(body(1).tool_choice, { type: 'function', function: { name: 'final_answer' } }, 'the last turn must answer');
    } finally {
      await h.close();
    }
  });

  test('a secret in the http tool\'s headers reaches the server, never the model or the log', async () => {
    const h = await openAgent();
    fake.reset();
    fx.reset();
    const token = 'tok-9f8e7d6c5b4a';
    h.cmd('secret.set', { name: 'API_TOKEN', value: token });
    fake.push(
      { toolCalls: [{ name: 'http_request', arguments: { url: `${fx.url}/echo` } }] },
      { text: 'done' },
    );
    try {
      const id = h.start(`
name: with-secret
version: 1.0.0
steps:
  - id: call
    type: agent
    model: fake-model
    prompt: Call the echo service.
    tools:
      - http: { allow: ["${fx.url}/"], headers: { x-api-token: "{{ secrets.API_TOKEN }}" } }
`);
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.equal(fx.requests('/echo'), 1);
      const seen = JSON.stringify(fake.requests.map((r) => r.body));
      assert.ok(!seen.includes(token), 'the model never saw the token');
      assert.match(seen, /\[secret:API_TOKEN\]/, 'the echoed header reached the model redacted');
      const log = JSON.stringify(h.k.sql.all("SELECT payload FROM events WHERE stream = ?", [`session:${id}`]));
      assert.ok(!log.includes(token), 'nor the log');
      assert.match(h.payloads<{ content: string }>(id, 'agent.observation')[0]!.content, /x-api-token.*\[secret:API_TOKEN\]/);
    } finally {
      await h.close();
    }
  });

  test('an outputSchema that is not an object is wrapped as { answer } for the providers and unwrapped', async () => {
    const h = await openAgent();
    fake.reset();
    fake.push({ toolCalls: [{ name: 'final_answer', arguments: { answer: ['rollback', 'page'] } }] });
    try {
      const id = h.start(`
name: listing
version: 1.0.0
steps:
  - id: plan
    type: agent
    model: fake-model
    prompt: List the actions.
    tools: [forest.search]
    outputSchema: { type: array, items: { type: string }, minItems: 1 }
outputs:
  actions: "{{ steps.plan.output.json }}"
`);
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { actions: ['rollback', 'page'] });
      const final = body(0).tools!.find((t) => t.function.name === 'final_answer') as unknown as { function: { parameters: { type: string; required: string[] } } };
      assert.deepEqual([final.function.parameters.type, final.function.parameters.required], ['object', ['answer']]);
    } finally {
      await h.close();
    }
  });

  test('no valid answer within maxTurns fails typed, and not retryable', async () => {
    const h = await openAgent();
    fake.reset();
    fake.push(
      { toolCalls: [{ name: 'forest_search', arguments: { query: 'anything' } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'x' } }] },
    );
    try {
      const id = h.start(agentWorkflow(fx.url, 2));
      const s = await settled(h, id);
      assert.equal(s.status, 'failed');
      assert.equal(s.error?.type, 'invalid_output');
      assert.equal(h.step(id, 'investigate').error?.details['turns'], 2);
      assert.equal(fake.count(), 2);

      // Without outputSchema and without an answer: max_turns.
      fake.reset();
      fake.push({ toolCalls: [{ name: 'forest_search', arguments: { query: 'a' } }] }, { toolCalls: [{ name: 'forest_search', arguments: { query: 'b' } }] });
      const id2 = h.start(`
name: chatty
version: 1.0.0
steps:
  - id: loop
    type: agent
    model: fake-model
    prompt: Keep searching.
    tools: [forest.search]
    maxTurns: 2
`);
      const s2 = await settled(h, id2);
      assert.equal(s2.status, 'failed');
      assert.equal(s2.error?.type, 'max_turns');
      assert.equal(body(1).tool_choice, 'none');
    } finally {
      await h.close();
    }
  });

  test('http outside allow, a method not allowed and an unknown tool are refused as observations, with no request', async () => {
    const h = await openAgent();
    fake.reset();
    fx.reset();
    fake.push(
      { toolCalls: [
        { name: 'http_request', arguments: { url: `${fx.url}/status/200` } },
        { name: 'http_request', arguments: { url: `${fx.url}/effect/x`, method: 'DELETE' } },
        { name: 'shell', arguments: { cmd: 'rm -rf /' } },
      ] },
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'none', action: 'ignore' } }] },
    );
    try {
      const id = h.start(agentWorkflow(fx.url));
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.equal(fx.requests(), 0, 'nothing reached the server');
      const obs = h.payloads<{ ok: boolean; content: string; error?: { type: string } }>(id, 'agent.observation');
      assert.deepEqual(obs.map((o) => [o.ok, o.error?.type]), [[false, 'tool_refused'], [false, 'tool_refused'], [false, 'unknown_tool']]);
      assert.match(obs[0]!.content, /outside what this agent may call/);
      assert.match(obs[2]!.content, /no tool named shell/);
    } finally {
      await h.close();
    }
  });
});

describe('agent steps: Anthropic Messages', () => {
  test('tool_use and tool_result blocks on the wire; final_answer is a forced tool on the last turn', async () => {
    const anthropic = await startFakeAnthropic();
    const h = await openAgent();
    try {
      h.cmd('llm.provider.set', { id: 'claude', kind: 'anthropic', baseUrl: anthropic.url, models: ['claude-test'] });
      h.cmd('forest.node.create', { title: 'Known issue: cold cache', body: 'After a restart the cache is cold for ten minutes.', tags: ['known-issue'] });
      anthropic.push(
        { text: 'Let me check the notes.', toolCalls: [{ name: 'forest_search', arguments: { query: 'cold cache' } }] },
        { toolCalls: [{ name: 'final_answer', arguments: { cause: 'cold cache', action: 'ignore' } }] },
      );
      const id = h.start(agentWorkflow(fx.url, 2).replace('model: fake-model', 'model: claude/claude-test'));
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { action: 'ignore' });
      const second = anthropic.requests[1]!.body as { messages: { role: string; content: unknown }[]; tool_choice?: unknown; tools: { name: string }[] };
      assert.deepEqual(second.messages.map((m) => m.role), ['user', 'assistant', 'user']);
      const blocks = second.messages[1]!.content as { type: string; name?: string }[];
      assert.deepEqual(blocks.map((b) => b.type), ['text', 'tool_use']);
      const results = second.messages[2]!.content as { type: string; tool_use_id: string; content: string }[];
      assert.equal(results[0]!.type, 'tool_result');
      assert.match(results[0]!.content, /Known issue: cold cache/);
      assert.deepEqual(second.tool_choice, { type: 'tool', name: 'final_answer' });
      assert.ok(second.tools.some((t) => t.name === 'final_answer'));
    } finally {
      await h.close();
      await anthropic.close();
    }
  });
});

describe('agent steps: durability', () => {
  test('stop mid-loop: recorded turns are not sent again, the call in flight re-runs with the same key, its effect counts once', async () => {
    const file = join(dir, 'agent-resume.db');
    const clock = new ManualClock(START);
    fake.reset();
    fx.reset();
    fake.push(
      { toolCalls: [{ name: 'http_request', arguments: { url: `${fx.url}/effect/deploy-probe`, method: 'POST' } }] },
      { toolCalls: [{ name: 'http_request', arguments: { url: `${fx.url}/slow/1500` } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { cause: 'slow upstream', action: 'restart' } }] },
    );
    let h = await openAgent({ file, clock });
    const id = h.start(agentWorkflow(fx.url));
    await until(() => fx.requests('/slow/1500') === 1, 'the slow call of turn 2');
    assert.equal(fake.count(), 2);
    assert.deepEqual(h.payloads(id, 'agent.turn').length, 2);
    await h.close(); // aborts the slow call; nothing about it is recorded

    h = await openAgent({ file, clock, configure: false });
    try {
      const s = await settled(h, id, 2000);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.equal(fake.count(), 3, 'turns 1 and 2 were not sent again');
      assert.equal(fx.counts().get('deploy-probe'), 1, 'the finished call of turn 1 did not run again');
      assert.equal(fx.requests('/slow/1500'), 2, 'the call in flight ran again');
      const third = body(2).messages;
      assert.deepEqual(third.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'assistant', 'tool']);
      assert.deepEqual(h.payloads(id, 'agent.turn').length, 3);
      assert.equal(h.payloads(id, 'agent.observation').length, 2);
      const keys = fake.requests.map((r) => r.headers['idempotency-key']);
      assert.ok(keys.every((k, i) => typeof k === 'string' && k.endsWith(`/investigate/1/turn-${i + 1}`)), JSON.stringify(keys));
      assert.equal(h.step(id, 'investigate').attempt, 1);
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test('cancelling the session cancels the child session a workflow tool started', async () => {
    const h = await openAgent();
    fake.reset();
    h.cmd('workflow.save', { source: `
name: slow-check
version: 1.0.0
steps:
  - id: hold
    type: wait
    duration: 1h
` });
    fake.push({ toolCalls: [{ name: 'workflow_slow-check', arguments: {} }] });
    try {
      const id = h.start(`
name: waits-for-child
version: 1.0.0
steps:
  - id: ask
    type: agent
    model: fake-model
    prompt: Check slowly.
    tools: [{ workflow: slow-check, description: Waits an hour. }]
`);
      await until(() => h.k.sql.value("SELECT count(*) FROM sessions WHERE workflow_name = 'slow-check' AND status = 'running'") === 1, 'the child session');
      assert.equal((body(0).tools ?? []).find((t) => t.function.name === 'workflow_slow-check') !== undefined, true);
      h.cmd('session.cancel', { sessionId: id, reason: 'enough' });
      await until(() => h.k.sql.value("SELECT status FROM sessions WHERE workflow_name = 'slow-check'") === 'cancelled', 'the child to be cancelled');
      await h.settle();
      assert.equal(h.get(id).status, 'cancelled');
      assert.equal(fake.count(), 1);
    } finally {
      await h.close();
    }
  });
});

/**
 * An agent step runs IN THE BROWSER (inside the kernel worker) against a fake OpenAI-compatible
 * server on 127.0.0.1: the model searches the Forest, writes a node, then gives its final answer.
 * The session page shows the loop as a conversation (turns, tool calls, observations, the final
 * answer), the Forest holds the written node, and a reload neither calls the model again nor
 * loses the turns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../helpers/fake-openai.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import { unwrap, type KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 30_000;
const TITLE = 'Canary rollout checklist';
const BODY = 'Deploy to 5% first, watch the error rate for ten minutes, then promote.';
const ANSWER = { summary: 'Wrote the canary rollout checklist.', nodes: 1 };

const SOURCE = `name: agent_notes
version: 1.0.0
description: An agent that searches the Forest and writes what it learned.
steps:
  - id: research
    type: agent
    model: fake-model
    prompt: "Find what we know about canary rollouts and write a checklist."
    tools: [forest.search, forest.write]
    maxTurns: 4
    outputSchema:
      type: object
      properties:
        summary: { type: string }
        nodes: { type: integer }
      required: [summary, nodes]
`;

interface StepView {
  key: string;
  status: string;
  output?: { turns: number; toolCalls: number; json: unknown; wrote: string[]; usage: { inputTokens: number; outputTokens: number } };
}

describe('agent steps in the browser', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let fake: FakeLlmServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH}`);
    fake = await startFakeOpenAI({
      script: [
        { text: 'Let me check what the Forest knows first.', toolCalls: [{ name: 'forest_search', arguments: { query: 'canary rollout' } }], usage: { input: 120, output: 14 } },
        { toolCalls: [{ name: 'forest_write', arguments: { title: TITLE, body: BODY, tags: ['ops', 'canary'] } }], usage: { input: 210, output: 40 } },
        { toolCalls: [{ name: 'final_answer', arguments: ANSWER }], usage: { input: 300, output: 22 } },
      ],
    });
    cleanup.add('fake llm', () => fake.close());
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'agent', '#/sessions', 20_000));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

  /** Open the step detail of `research` and wait for its three turns. */
  async function showTurns(): Promise<void> {
    await page.locator(sel('timeline-row', '[data-step="research"]')).click();
    await page.locator(sel('agent-turns')).waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="agent-turn"]').length === 3, undefined, { timeout: UI_MS });
  }

  async function assertTurns(): Promise<void> {
    const turns = page.locator(sel('agent-turn'));
    assert.equal(await turns.count(), 3, 'three turn blocks');
    assert.deepEqual(await turns.evaluateAll((els) => els.map((e) => e.getAttribute('data-turn'))), ['1', '2', '3']);
    const first = turns.nth(0);
    assert.match((await first.locator('h4').textContent()) ?? '', /Turn 1/);
    assert.equal(await first.locator(sel('agent-text')).textContent(), 'Let me check what the Forest knows first.');
    const search = first.locator(sel('agent-call', '[data-tool="forest_search"]'));
    assert.equal(await search.getAttribute('data-state'), 'done');
    assert.match((await search.textContent()) ?? '', /forest_search/);
    assert.match((await search.textContent()) ?? '', /"query":"canary rollout"/, 'compact arguments');
    assert.equal(await search.locator(sel('agent-observation')).getAttribute('data-ok'), 'true');
    assert.match((await search.locator('pre.agent-obs-content').textContent()) ?? '', /match/);

    const write = turns.nth(1).locator(sel('agent-call', '[data-tool="forest_write"]'));
    assert.match((await write.textContent()) ?? '', /forest_write/);
    assert.equal(await write.locator(sel('agent-observation')).getAttribute('data-ok'), 'true');
    assert.match((await write.locator('pre.agent-obs-content').textContent()) ?? '', /nodeId/);
    // Its arguments are long: collapsed to a preview, the full JSON one click away.
    const args = write.locator('details.agent-args-long');
    assert.equal(await args.evaluate((d) => (d as HTMLDetailsElement).open), false);
    await args.locator('summary').click();
    assert.match((await args.locator('pre').textContent()) ?? '', /"title": "Canary rollout checklist"/);

    const final = turns.nth(2).locator(sel('agent-call', '[data-tool="final_answer"]'));
    assert.equal(await final.locator(sel('agent-final')).textContent(), 'Final answer');
    assert.match((await final.textContent()) ?? '', /accepted/);
    assert.match((await final.textContent()) ?? '', /Wrote the canary rollout checklist/);
    assert.equal(await final.locator(sel('agent-observation')).count(), 0, 'final_answer is not a tool that runs');

    assert.match((await turns.nth(0).locator(sel('agent-usage')).textContent()) ?? '', /^120 in \/ 14 out tokens · \d+(\.\d)? m?s · fake-model \(fake\) · tool_calls$/);
    assert.match((await page.locator(sel('agent-summary')).textContent()) ?? '', /3 turns · 2 tool calls · 630 in \/ 76 out tokens/);
    assert.equal(await page.locator(`${sel('agent-turns')} :is(script, img, iframe)`).count(), 0, 'model text never becomes markup');
  }

  test('the agent searches, writes a Forest node and answers; the page shows its turns, also after a reload', async () => {
    const set = await api.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'provider' });
    assert.ok(set.ok, JSON.stringify(set));
    const saved = await api.command({ type: 'workflow.save', payload: { source: SOURCE }, idempotencyKey: 'save' });
    assert.ok(saved.ok, JSON.stringify(saved));
    const started = await api.command({ type: 'session.start', payload: { workflow: 'agent_notes', env: { origin: server.url } }, idempotencyKey: 'run' });
    assert.ok(started.ok, JSON.stringify(started));
    const sessionId = (started.value.value as { sessionId: string }).sessionId;

    await page.goto(`${server.url}/#/sessions/${sessionId}`);
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
    assert.equal(fake.count(), 3, 'three model calls');
    // The model saw the tool results: turn 2's request carries turn 1's observation, turn 3's the write.
    const toolMessages = (i: number): string[] => (fake.requests[i]!.body.messages as { role: string; content: string }[]).filter((m) => m.role === 'tool').map((m) => String(m.content));
    assert.equal(toolMessages(1).length, 1);
    assert.equal(toolMessages(2).length, 2);
    assert.match(toolMessages(2)[1]!, /nodeId/);

    const got = unwrap(await api.query<{ steps: StepView[] }>('session.get', { sessionId }), 'session.get');
    const step = got.steps.find((s) => s.key === 'research')!;
    assert.equal(step.status, 'succeeded');
    assert.equal(step.output!.turns, 3);
    assert.equal(step.output!.toolCalls, 2);
    assert.deepEqual(step.output!.json, ANSWER);
    assert.equal(step.output!.wrote.length, 1);

    // The Forest has the node the agent wrote.
    const nodeId = step.output!.wrote[0]!;
    const node = unwrap(await api.query<{ node: { id: string; title: string; body: string; tags: string[] } } | null>('forest.node.get', { id: nodeId }), 'forest.node.get');
    assert.ok(node, 'the written node exists');
    assert.equal(node.node.title, TITLE);
    assert.equal(node.node.body, BODY);
    const found = unwrap(await api.query<{ hits: { id: string }[] }>('forest.search', { query: 'canary checklist' }), 'forest.search');
    assert.ok(found.hits.some((h) => h.id === nodeId), 'search finds the node');

    await showTurns();
    await assertTurns();

    await page.reload();
    await api.ready();
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
    await showTurns();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(fake.count(), 3, 'a reload does not call the model again');
    await assertTurns();
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });

  test('a reload in the middle of the loop: turn 1 is not sent again, turn 2 (in flight) once more with the same key', async () => {
    const source = SOURCE.replace('name: agent_notes', 'name: agent_reload').replace('tools: [forest.search, forest.write]', 'tools: [forest.search]');
    const saved = await api.command({ type: 'workflow.save', payload: { source }, idempotencyKey: 'save-reload' });
    assert.ok(saved.ok, JSON.stringify(saved));
    const from = fake.count();
    fake.push(
      { toolCalls: [{ name: 'forest_search', arguments: { query: 'canary' } }] },
      { toolCalls: [{ name: 'final_answer', arguments: { summary: 'never recorded', nodes: 0 } }], delayMs: 8_000 },
      { toolCalls: [{ name: 'final_answer', arguments: { summary: 'Answered after the reload.', nodes: 0 } }] },
    );
    const started = await api.command({ type: 'session.start', payload: { workflow: 'agent_reload', env: { origin: server.url } }, idempotencyKey: 'run-reload' });
    assert.ok(started.ok, JSON.stringify(started));
    const sessionId = (started.value.value as { sessionId: string }).sessionId;
    for (let i = 0; i < 300 && fake.count() < from + 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(fake.count(), from + 2, 'turn 2 is in flight');

    await page.reload();
    await api.ready();
    await page.goto(`${server.url}/#/sessions/${sessionId}`);
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
    assert.equal(fake.count(), from + 3, 'only the turn in flight was sent again');
    const keys = fake.requests.slice(from).map((r) => String(r.headers['idempotency-key']));
    assert.match(keys[0]!, /\/research\/1\/turn-1$/);
    assert.match(keys[1]!, /\/research\/1\/turn-2$/);
    assert.equal(keys[2], keys[1], 'the same key for the same turn');
    const got = unwrap(await api.query<{ steps: StepView[] }>('session.get', { sessionId }), 'session.get');
    assert.deepEqual(got.steps.find((st) => st.key === 'research')!.output!.json, { summary: 'Answered after the reload.', nodes: 0 });
    assert.equal(got.steps.find((st) => st.key === 'research')!.output!.turns, 2);
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});

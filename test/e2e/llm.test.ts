/**
 * LLM steps run IN THE BROWSER (inside the kernel worker): the built app on OPFS, with its CSP,
 * calls a fake OpenAI-compatible server on 127.0.0.1 that speaks the real wire protocol (SSE).
 * The streamed tokens reach other contexts of the origin over the progress BroadcastChannel, the
 * session page shows the recorded answer, and a reload does not call the model again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../helpers/fake-openai.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';

const ANSWER = 'Roll out to staging, watch the error rate, then promote.';

describe('llm steps in the browser', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let fake: FakeLlmServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH}`);
    fake = await startFakeOpenAI({ script: [{ text: ANSWER, deltas: ANSWER.split(/(?<= )/), chunkBytes: 16 }] });
    cleanup.add('fake llm', () => fake.close());
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'llm', '#/sessions', 20_000));
  });
  after(() => cleanup.run());

  test('an llm step streams tokens, records the answer, and is not called again after a reload', async () => {
    // Listen like another tab would: the leader's engine broadcasts progress on this channel.
    await page.evaluate(() => {
      const w = window as unknown as { tokens: string[] };
      w.tokens = [];
      new BroadcastChannel('kingdom-progress').onmessage = (e: MessageEvent<{ text: string }>) => w.tokens.push(e.data.text);
    });
    const set = await api.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'provider' });
    assert.ok(set.ok, JSON.stringify(set));
    const source = 'name: advise\nversion: 1.0.0\nsteps:\n  - { id: plan, type: llm, model: fake-model, prompt: "How do we roll out {{ inputs.service }}?" }\ninputs:\n  service: { type: string, default: api-gateway }\n';
    const started = await api.command({ type: 'session.start', payload: { source, env: { origin: server.url } }, idempotencyKey: 'run' });
    assert.ok(started.ok, JSON.stringify(started));
    const sessionId = (started.value.value as { sessionId: string }).sessionId;
    await page.goto(`${server.url}/#/sessions/${sessionId}`);
    await page.locator('[data-testid="session-status"][data-status="succeeded"]').waitFor({ timeout: 30_000 });
    const got = await api.query<{ steps: { key: string; output: { text: string } }[] }>('session.get', { sessionId });
    assert.ok(got.ok);
    assert.equal(got.value.steps.find((s) => s.key === 'plan')!.output.text, ANSWER);
    assert.equal(fake.count(), 1, 'one model call');
    assert.match(String(fake.requests[0]!.body.messages[0].content), /api-gateway/, 'the prompt was rendered from the inputs');
    assert.ok(fake.requests[0]!.headers['origin'], 'the call came from the browser (cross-origin fetch from the worker)');
    const tokens = await page.evaluate(() => (window as unknown as { tokens: string[] }).tokens);
    assert.equal(tokens.join(''), ANSWER, 'the streamed tokens, in order, are the answer');

    await page.reload();
    await api.ready();
    await page.locator('[data-testid="session-status"][data-status="succeeded"]').waitFor({ timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(fake.count(), 1, 'a reload does not call the model again for a finished step');
    assert.deepEqual(await cspViolations(page), []);
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});

/**
 * The intent command bar in real Chromium (the built app on OPFS, with its CSP): without a provider
 * the bar says how to configure one; with a provider pointing at the fake OpenAI server, a sentence
 * runs the built-in intent workflow (one agent step: forest_search, final_answer), the answer opens a
 * confirmation card with the chosen workflow's run form prefilled, and Start runs it to success.
 * An answer naming a workflow that is not in the library is shown as a failure with a link to the
 * intent session.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../helpers/fake-openai.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SENTENCE = 'Please say hello to Kingdom';
const EXPLANATION = 'The hello workflow greets someone; the request names Kingdom.';

describe('the intent command bar', () => {
  const cleanup = new Cleanup();
  let fake: FakeLlmServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    fake = await startFakeOpenAI();
    cleanup.add('fake llm', () => fake.close());
    ({ page, api, problems } = await openBuiltApp(cleanup, 'intent', '#/workflows', UI_MS));
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

  async function ask(sentence: string): Promise<void> {
    await page.keyboard.press('Control+K');
    const input = page.locator(sel('intent-input'));
    assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'Ctrl+K focuses the bar');
    await input.fill(sentence);
    await input.press('Enter');
  }

  test('without a provider the bar links to Settings', async () => {
    await ask(SENTENCE);
    await page.locator(sel('intent-no-provider')).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('intent-settings-link')).getAttribute('href'), '#/settings');
    assert.equal(fake.count(), 0, 'no model call');
    await page.keyboard.press('Escape');
    await page.locator(sel('intent-panel')).waitFor({ state: 'detached', timeout: UI_MS });
  });

  test('a sentence becomes a confirmed, prefilled run of hello', async () => {
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    for (const ex of EXAMPLES) await page.locator(sel('workflow-row', `[data-name="${ex.name}"]`)).waitFor({ timeout: UI_MS });
    const set = await api.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model', 'other'] }, idempotencyKey: 'provider' });
    assert.ok(set.ok, JSON.stringify(set));
    fake.push({ toolCalls: [{ name: 'final_answer', arguments: { workflow: 'hello', inputs: { who: 'Kingdom', planet: 'Mars' }, confidence: 0.9, explanation: EXPLANATION } }] });

    await ask(SENTENCE);
    const card = page.locator(sel('intent-card', '[data-workflow="hello"]'));
    await card.waitFor({ timeout: RUN_MS });
    assert.equal(await page.locator(sel('intent-input-who')).inputValue(), 'Kingdom', 'the proposed input is prefilled');
    assert.equal(await page.locator(sel('intent-input-shout')).isChecked(), false, 'an input the model left out keeps its default');
    assert.equal(await page.locator(sel('intent-explanation')).textContent(), EXPLANATION);
    assert.match((await page.locator(sel('intent-confidence')).textContent()) ?? '', /90%/);
    assert.match((await page.locator(sel('intent-ignored')).textContent()) ?? '', /planet/, 'undeclared inputs are named and dropped');

    // The model call: the first provider's first model, the sentence and every workflow name in the prompt.
    assert.equal(fake.count(), 1, 'one model call');
    const body = fake.requests[0]!.body as { model: string; messages: { content: unknown }[]; tools?: { function: { name: string } }[] };
    assert.equal(body.model, 'fake-model');
    assert.deepEqual(body.tools?.map((t) => t.function.name), ['forest_search', 'final_answer'], 'an agent: it may search earlier runs, and answers through final_answer');
    const prompt = body.messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))).join('\n');
    assert.ok(prompt.includes(SENTENCE), 'the prompt holds the sentence');
    for (const ex of EXAMPLES) assert.ok(prompt.includes(`"name":"${ex.name}"`), `the prompt lists ${ex.name}`);
    assert.ok(prompt.includes('"who"'), 'the prompt lists the inputs');

    // The exact prompt is recorded in the intent session.
    const intentHref = await page.locator(sel('intent-card')).locator('a[href^="#/sessions/"]').getAttribute('href');
    const intentId = decodeURIComponent(intentHref!.split('/')[2]!);
    const state = await api.query<{ state: { workflow: { name: string }; steps: { route: { input: { prompt: string } } } } }>('session.state', { sessionId: intentId });
    assert.ok(state.ok, JSON.stringify(state));
    assert.equal(state.value.state.workflow.name, 'intent');
    assert.ok(state.value.state.steps.route.input.prompt.includes(SENTENCE), 'the rendered prompt is in the log');

    // The person edits the proposal, then starts it.
    await page.locator(sel('intent-input-who')).fill('Kingdom!');
    await page.locator(sel('intent-start')).click();
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    const id = await page.evaluate(() => decodeURIComponent(location.hash.split('/')[2]!));
    assert.notEqual(id, intentId);
    await page.locator(sel('intent-panel')).waitFor({ state: 'detached', timeout: UI_MS });
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: RUN_MS });
    assert.match((await page.locator(sel('session-output')).textContent()) ?? '', /Hello, Kingdom!!/);
    const s = await api.query<{ status: string; workflow: { name: string }; inputs: { who: string } }>('session.get', { sessionId: id });
    assert.ok(s.ok);
    assert.equal(s.value.workflow.name, 'hello');
    assert.equal(s.value.inputs.who, 'Kingdom!');
    assert.equal(fake.count(), 1, 'starting the chosen workflow does not call the model');
  });

  test('an answer naming an unknown workflow is shown as a failure with a link to the session', async () => {
    fake.push({ json: { workflow: 'deploy', inputs: { service: 'api-gateway' }, confidence: 0.4, explanation: 'guess' } });
    await ask('Deploy api-gateway v2.1.0 to staging');
    const failed = page.locator(sel('intent-failed'));
    await failed.waitFor({ timeout: RUN_MS });
    assert.match((await failed.textContent()) ?? '', /“deploy”, which is not in the library/);
    const link = page.locator(sel('intent-session-link'));
    assert.match((await link.getAttribute('href')) ?? '', /^#\/sessions\/.+/);
    await link.click();
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: UI_MS });
    await page.locator(sel('intent-panel')).waitFor({ state: 'detached', timeout: UI_MS });
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});

/**
 * Words for people, in real Chromium (the built app on OPFS, with its CSP) at 1440, 820 and 390 px:
 * 1. a workspace with an empty name is refused with a sentence ("The name is empty. Type a name and
 *    try again."); the code, the command and the kernel's message are under Details, and copied;
 * 2. the intent bar shows the provider and model it asks; switching the model (and the provider)
 *    is what the next request uses — checked at the fake servers — and is remembered after a
 *    reload; an agent whose answers never fit is explained in plain words, "Open the run form
 *    instead" opens that workflow's run form, and the intent session is linked by its name;
 * 3. Settings → "Test connection": connected with the latency, and plain failures for a refused
 *    key, an unreachable server and a model the provider does not know (the key never shows); a
 *    second tab's test is forwarded to the tab that owns the database;
 * 4. a failed session says why in words, and Retry asks before it retries; the sessions list
 *    filters by workflow from a dropdown.
 * No CSP violation, no console error. Screenshots go to .tmp/screens/ (gitignored).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply, type RecordedRequest } from '../helpers/fake-openai.ts';
import { startFakeAnthropic } from '../helpers/fake-anthropic.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const WIDTHS = [1440, 820, 390] as const;
const HEIGHT: Record<number, number> = { 1440: 900, 820: 1180, 390: 844 };
const BAD_KEY = 'sk-refused-7d1e40';
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

const FAILING = `name: sign
version: 1.0.0
description: An approval nobody answers in time.
steps:
  - id: sign_off
    type: approval
    prompt: Ship it?
    timeout: 1s
    onTimeout: reject
`;

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const answer = (workflow: string, inputs: Record<string, unknown>): FakeReply =>
  ({ toolCalls: [{ name: 'final_answer', arguments: { workflow, inputs, confidence: 0.9, explanation: 'fits' } }] });

describe('words for people', () => {
  const cleanup = new Cleanup();
  let openai: FakeLlmServer;
  let anthropic: FakeLlmServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let base: string;
  /** What the fake OpenAI server answers (per request). */
  let reply: (r: RecordedRequest) => FakeReply = () => ({ error: { status: 500, message: 'no reply scripted' } });

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    openai = await startFakeOpenAI({ script: (r) => reply(r) });
    cleanup.add('fake openai', () => openai.close());
    anthropic = await startFakeAnthropic();
    cleanup.add('fake anthropic', () => anthropic.close());
    let server;
    ({ page, api, problems, server } = await openBuiltApp(cleanup, 'words', '#/workspaces', UI_MS));
    base = server.url;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  });
  after(() => cleanup.run());

  async function at(width: number): Promise<void> {
    await page.setViewportSize({ width, height: HEIGHT[width]! });
  }

  async function go(hash: string): Promise<void> {
    await page.evaluate((h) => (location.hash = h), hash);
  }

  async function shot(file: string): Promise<void> {
    await page.screenshot({ path: join(SCREENS, file), fullPage: true });
  }

  async function noSideScroll(what: string): Promise<void> {
    const w = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(w[0]! <= w[1]!, `${what}: no sideways scroll (${w[0]} > ${w[1]})`);
  }

  test('an empty workspace name: a sentence first, the code under Details', async () => {
    for (const width of WIDTHS) {
      await at(width);
      await go('#/workspaces');
      const input = page.locator(sel('workspace-name-input')).first();
      await input.fill('');
      await page.locator(sel('workspace-create')).first().click({ timeout: UI_MS });
      const error = page.locator(sel('error-message', '[data-code="invalid_payload"]')).first();
      await error.waitFor({ timeout: UI_MS });
      assert.equal((await error.locator(sel('error-sentence')).innerText()).trim(), 'The name is empty. Type a name and try again.');
      assert.doesNotMatch(await error.innerText(), /invalid_payload|payload\./, 'no code or path before Details is opened');
      const code = error.locator(sel('error-code'));
      assert.equal(await code.isVisible(), false, 'the code is folded');
      await error.locator('summary').click();
      await code.waitFor({ state: 'visible', timeout: UI_MS });
      assert.equal(await code.innerText(), 'invalid_payload');
      assert.equal(await error.locator(sel('error-command')).innerText(), 'workspace.create');
      assert.match(await error.locator(sel('error-detail')).innerText(), /^workspace\.create: payload\.name: must not be empty/);
      if (width === 1440) {
        await error.locator(sel('error-copy')).click();
        await error.getByText('Copied.').waitFor({ timeout: UI_MS });
        const copied = await page.evaluate(() => navigator.clipboard.readText());
        assert.match(copied, /^The name is empty\. Type a name and try again\.\nCode: invalid_payload\nCommand: workspace\.create\nMessage: workspace\.create: payload\.name/);
      }
      await noSideScroll(`error at ${width}`);
      await shot(`words-error-${width}.png`);
      await error.getByRole('button', { name: 'Dismiss this error' }).click();
      await error.waitFor({ state: 'detached', timeout: UI_MS });
    }
  });

  test('the intent bar: the provider and model it asks, switched and remembered; a failure in words', async () => {
    await at(1440);
    await go('#/workflows');
    await page.locator(sel('install-examples')).click({ timeout: UI_MS });
    await page.locator(sel('workflow-row', '[data-name="hello"]')).waitFor({ timeout: UI_MS });
    for (const [i, cmd] of [
      { type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${openai.url}/v1`, models: ['fake-model', 'other-model'] } },
      { type: 'llm.provider.set', payload: { id: 'second', kind: 'anthropic', baseUrl: anthropic.url, models: ['claude-fake'] } },
    ].entries()) {
      const r = await api.command({ ...cmd, idempotencyKey: `provider-${i}` });
      assert.ok(r.ok, JSON.stringify(r));
    }
    const picker = page.locator(sel('intent-model'));
    await page.waitForFunction(() => document.querySelector('[data-testid="intent-model"]')?.getAttribute('data-model') === 'fake/fake-model', undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('intent-provider')).inputValue(), 'fake');
    await shot('words-intent-picker-1440.png');

    // Switch the model: the next request asks it.
    await page.locator(sel('intent-model-select')).selectOption('other-model');
    assert.equal(await picker.getAttribute('data-model'), 'fake/other-model');
    reply = () => answer('hello', { who: 'Kingdom' });
    openai.reset();
    const ask = async (sentence: string): Promise<void> => {
      await page.locator(sel('intent-input')).fill(sentence);
      await page.locator(sel('intent-input')).press('Enter');
    };
    await ask('Please say hello to Kingdom');
    await page.locator(sel('intent-card', '[data-workflow="hello"]')).waitFor({ timeout: RUN_MS });
    assert.equal(openai.count(), 1);
    assert.equal(openai.requests[0]!.body.model, 'other-model', 'the model picked is the one asked');
    assert.match(await page.locator(sel('intent-card-session')).innerText(), /^intent #\d+$/, 'the session is linked by its name');
    await page.locator(sel('intent-cancel')).click();

    // Remembered on this device.
    await page.reload();
    await api.ready();
    await page.waitForFunction(() => document.querySelector('[data-testid="intent-model"]')?.getAttribute('data-model') === 'fake/other-model', undefined, { timeout: UI_MS });

    // Another provider (the Anthropic wire): its model is asked there.
    await page.locator(sel('intent-provider')).selectOption('second');
    assert.equal(await picker.getAttribute('data-model'), 'second/claude-fake');
    anthropic.reset();
    anthropic.push(answer('hello', { who: 'Ada' }));
    await ask('Say hello to Ada');
    await page.locator(sel('intent-card', '[data-workflow="hello"]')).waitFor({ timeout: RUN_MS });
    assert.equal(anthropic.count(), 1);
    assert.equal(anthropic.requests[0]!.body.model, 'claude-fake');
    await page.locator(sel('intent-cancel')).click();

    // An agent whose answers never fit, on a phone: the plain explanation, and the run form instead.
    await at(390);
    await page.locator(sel('intent-provider')).selectOption('fake');
    await page.locator(sel('intent-model-select')).selectOption('fake-model');
    openai.reset();
    reply = () => ({ toolCalls: [{ name: 'final_answer', arguments: { confidence: 0.2 } }] });
    await ask('Please say hello to Kingdom');
    const failure = page.locator(sel('intent-failure'));
    await failure.waitFor({ timeout: RUN_MS });
    assert.equal((await failure.locator(sel('error-sentence')).innerText()).trim(),
      'The model’s answers did not fit what Kingdom needed after 3 tries. Try another model or rephrase — or open the run form instead.');
    assert.equal(openai.count(), 3, 'three turns');
    await failure.locator('summary').click();
    assert.equal(await failure.locator(sel('error-code')).innerText(), 'invalid_output');
    assert.match(await failure.locator(sel('error-detail')).innerText(), /within 3 turns/);
    assert.match(await page.locator(sel('intent-session-link')).innerText(), /^intent #\d+$/);
    await noSideScroll('intent failure at 390');
    await shot('words-intent-failure-390.png');
    await page.locator(sel('intent-run-form')).click();
    await page.waitForFunction(() => location.hash === '#/workflows/hello/run', undefined, { timeout: UI_MS });
    await page.locator(sel('run-start')).waitFor({ timeout: UI_MS });
    await page.locator(sel('intent-panel')).waitFor({ state: 'detached', timeout: UI_MS });
    await at(820);
    await shot('words-intent-runform-820.png');
  });

  test('Settings → Test connection: connected, key refused, not reachable, model unknown', async () => {
    await at(820);
    const down = await closedPort();
    const r = await api.commandBatch([
      { type: 'secret.set', payload: { name: 'LLM_BAD_KEY', value: BAD_KEY }, idempotencyKey: 'bad-key' },
      { type: 'llm.provider.set', payload: { id: 'bad', kind: 'openai', baseUrl: `${openai.url}/v1`, models: ['fake-model'], apiKeySecret: 'LLM_BAD_KEY' }, idempotencyKey: 'bad' },
      { type: 'llm.provider.set', payload: { id: 'down', kind: 'openai', baseUrl: `http://127.0.0.1:${down}/v1`, models: ['m'] }, idempotencyKey: 'down' },
    ]);
    assert.ok(r.ok, JSON.stringify(r));
    reply = (req) => {
      if (req.headers['authorization'] === `Bearer ${BAD_KEY}`) return { error: { status: 401, message: `Incorrect API key provided: ${BAD_KEY}` } };
      if (req.body.model === 'other-model') return { error: { status: 404, message: 'The model `other-model` does not exist or you do not have access to it.' } };
      return { text: 'ok', delayMs: 20 };
    };
    await go('#/settings');
    const row = (id: string) => page.locator(sel('provider-row', `[data-id="${id}"]`));
    const result = (id: string) => page.locator(sel('provider-test-result', `[data-id="${id}"]`));
    const settled = async (id: string): Promise<string> => {
      await page.waitForFunction((x) => ['ok', 'failed'].includes(document.querySelector(`[data-testid="provider-test-result"][data-id="${x}"]`)?.getAttribute('data-state') ?? ''), id, { timeout: RUN_MS });
      return (await result(id).getAttribute('data-state'))!;
    };

    openai.reset();
    await row('fake').locator(sel('provider-test')).click({ timeout: UI_MS });
    assert.equal(await settled('fake'), 'ok');
    assert.match(await result('fake').locator(sel('provider-test-sentence')).innerText(), /^Connected — fake-model answered in \d+ ms\.$/);
    assert.equal(openai.count(), 1);
    assert.equal(openai.requests[0]!.body.model, 'fake-model');

    // The model the provider does not know.
    await result('fake').locator(sel('provider-test-model')).selectOption('other-model');
    await result('fake').locator(sel('provider-test-again')).click();
    assert.equal(await settled('fake'), 'failed');
    const unknown = result('fake').locator(sel('provider-test-failure'));
    assert.equal(await unknown.getAttribute('data-code'), 'model_unknown');
    assert.match(await unknown.locator(sel('error-sentence')).innerText(), /^The provider does not know the model “other-model” \(HTTP 404\)\. Pick another model/);

    await row('bad').locator(sel('provider-test')).click();
    assert.equal(await settled('bad'), 'failed');
    const refused = result('bad').locator(sel('provider-test-failure'));
    assert.equal(await refused.getAttribute('data-code'), 'auth');
    assert.match(await refused.locator(sel('error-sentence')).innerText(), /^The provider refused the key \(HTTP 401\)\. Check the API key/);
    await refused.locator('summary').click();
    assert.equal(await refused.locator(sel('error-code')).innerText(), 'auth');
    assert.match(await refused.locator(sel('error-detail')).innerText(), /\*\*\*/, 'the echoed key is masked');

    await row('down').locator(sel('provider-test')).click();
    assert.equal(await settled('down'), 'failed');
    const unreachable = result('down').locator(sel('provider-test-failure'));
    assert.equal(await unreachable.getAttribute('data-code'), 'unreachable');
    assert.match(await unreachable.locator(sel('error-sentence')).innerText(), new RegExp(`could not reach http://127\\.0\\.0\\.1:${down}/v1\\..*\\(CORS\\)`));

    assert.equal(await page.evaluate((k) => document.documentElement.outerHTML.includes(k), BAD_KEY), false, 'the key is never on the page');

    // A second tab follows the first: its test is forwarded to the tab that holds the database (and the keys).
    const follower = await page.context().newPage();
    try {
      await follower.goto(`${base}/#/settings`);
      await follower.locator(sel('provider-row', '[data-id="fake"]')).locator(sel('provider-test')).click({ timeout: UI_MS });
      const forwarded = follower.locator(sel('provider-test-result', '[data-id="fake"]'));
      await follower.waitForFunction(() => document.querySelector('[data-testid="provider-test-result"][data-id="fake"]')?.getAttribute('data-state') === 'ok', undefined, { timeout: RUN_MS });
      assert.match(await forwarded.locator(sel('provider-test-sentence')).innerText(), /^Connected — fake-model answered in \d+ ms\.$/);
      assert.equal(await follower.evaluate(async () => (await (window as unknown as { kingdomDevHook: { api: { info(): Promise<{ role: string }> } } }).kingdomDevHook.api.info()).role), 'follower');
    } finally {
      await follower.close();
    }
    await shot('words-settings-test-820.png');
    for (const width of [1440, 390]) {
      await at(width);
      await noSideScroll(`settings at ${width}`);
      await shot(`words-settings-test-${width}.png`);
    }
  });

  test('a failed session says why in words; Retry asks first; the sessions list filters by workflow', async () => {
    await at(390);
    const started = await api.command({ type: 'session.start', payload: { source: FAILING, inputs: {} }, idempotencyKey: 'sign-1' });
    assert.ok(started.ok, JSON.stringify(started));
    const id = (started.value.value as { sessionId: string }).sessionId;
    await go(`#/sessions/${id}`);
    await page.locator(sel('session-status', '[data-status="failed"]')).waitFor({ timeout: RUN_MS });
    const why = page.locator(sel('session-error'));
    assert.equal((await why.locator(sel('error-sentence')).innerText()).trim(), 'Step sign_off: Nobody decided in time. Retry to ask again.');
    await why.locator('summary').click();
    assert.equal(await why.locator(sel('error-code')).innerText(), 'approval_timeout');

    await page.locator(sel('session-retry')).click();
    const confirm = page.locator(sel('session-retry-confirm'));
    await confirm.waitFor({ timeout: UI_MS });
    assert.match(await confirm.innerText(), /^Retry sign #1\?/);
    await shot('words-retry-confirm-390.png');
    await page.waitForTimeout(300);
    const still = await api.query<{ status: string }>('session.get', { sessionId: id });
    assert.ok(still.ok && still.value.status === 'failed', 'nothing is retried before the confirmation');
    await page.locator(sel('session-retry-no')).click();
    await confirm.waitFor({ state: 'detached', timeout: UI_MS });
    await page.locator(sel('session-retry')).click();
    await page.locator(sel('session-retry-yes')).click();
    await pollUntil(async () => {
      const s = await api.query<{ status: string }>('session.get', { sessionId: id });
      return s.ok && s.value.status !== 'failed' ? s.value.status : undefined;
    }, { timeoutMs: RUN_MS, what: 'the session retried' });

    await at(1440);
    await go('#/sessions');
    const filter = page.locator(sel('session-filter-workflow'));
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="session-filter-workflow"] option')].some((o) => (o as HTMLOptionElement).value === 'intent'), undefined, { timeout: UI_MS });
    await filter.selectOption('sign');
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('[data-testid="session-row"]')];
      return rows.length === 1 && rows[0]!.textContent!.includes('sign #1');
    }, undefined, { timeout: UI_MS });
    await shot('words-sessions-filter-1440.png');
  });

  test('no console errors and no CSP violations', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});

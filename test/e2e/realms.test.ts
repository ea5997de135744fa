/**
 * Realms and the Dojo in real Chromium (the built app on OPFS, with its CSP), against a realm built
 * with scripts/realm-publish.ts and served by a real HTTP server on 127.0.0.1 (another origin, so
 * it answers with CORS like a static host would):
 * 1. register it from the Realms screen: the root fetched from its address, its keys shown and
 *    confirmed, then trusted (the index verified by the realm service);
 * 2. browse: search and tag filter (in the address), versions with compatibility;
 * 3. install a kata: the proposal checklist, approve, the receipt (event and audit entry); run its
 *    workflow from the Workflows screen to success;
 * 4. an upgrade shows the capability diff in colour and words; rejecting it keeps the reason;
 * 5. a tampered pack is refused with its sentence and nothing is installed;
 * 6. the Dojo: an intent no workflow meets (the fake model answers "none") is recorded and leads to
 *    a realm kata proposed through the same approval; another leads to a kata drafted by the fake
 *    OpenAI server, reviewed and approved: the workflow and its Kata exist;
 * 7. a re-pointed version in a newer index is a security incident banner, details one click away;
 * 8. no CSP violation, no console error, axe: no serious or critical violation on each view at
 *    1440, 820 and 390 px (screenshots in .tmp/screens/realms-*).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../helpers/fake-openai.ts';
import { serveStatic, type StaticServer } from '../helpers/static-server.ts';
import { Cleanup, pollUntil, REPO } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import { blocking, formatViolations, runAxe } from './a11y-support.ts';
import type { KingdomApiPage } from './pages/kingdom-api.ts';
import { initRealm, publish, writeKeyFile } from '../../scripts/realm-publish.ts';
import { signIndex, type SigningKey } from '../../worker/realms/publish.ts';
import { base64Decode } from '../../worker/realms/signing.ts';
import type { RealmIndex } from '../../worker/realms/format.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;
const SCREENS = join(REPO, '.tmp/screens');
const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

/** A kata's manifests: the Kata, its Workflow (built-in transform runner) and, optionally, hosts it asks for. */
function kata(name: string, version: string, o: { tags: string[]; description: string; hosts?: string[]; greeting?: string }): string[] {
  const flow = `${name.replace(/[.-]/g, '_')}_flow`;
  return [
    `kind: Kata
name: ${name}
version: ${version}
description: ${o.description}
workflow: ${flow}
tags: [${o.tags.join(', ')}]
complexity: simple
requires: { kingdom: ">=0.1.0", runners: [transform], skills: [] }
capabilities: { hosts: [${(o.hosts ?? []).map((h) => `"${h}"`).join(', ')}], runners: [transform], secrets: [] }
`,
    `kind: Workflow
name: ${flow}
version: ${version}
inputs:
  who: { type: string, required: true }
steps:
  - id: greet
    type: task
    runner: transform
    with:
      value: "${o.greeting ?? 'Hello'}, {{ inputs.who }}"
outputs:
  greeting: "{{ steps.greet.output }}"
`,
  ];
}

const HELLO = kata('hello.greet', '1.0.0', { tags: ['greeting', 'demo'], description: 'Greet someone by name', hosts: ['api.example.com'] });
const DEPLOY = kata('deploy.service', '1.0.0', { tags: ['ops', 'deploy'], description: 'Deploy a service to an environment' });
const NOTES = kata('notes.summary', '1.0.0', { tags: ['notes', 'daily'], description: 'Summarise the notes of the day' });

describe('realms and the Dojo in the app', () => {
  const cleanup = new Cleanup();
  let site: StaticServer;
  let dir: string;
  let key: SigningKey;
  let fake: FakeLlmServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;

  const pack = (name: string, version: string): { sha256: string } => {
    const env = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { payload: string };
    const index = JSON.parse(new TextDecoder().decode(base64Decode(env.payload)!)) as RealmIndex;
    return index.katas.find((k) => k.name === name && k.version === version)!;
  };

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    mkdirSync(SCREENS, { recursive: true });
    dir = cleanup.tempDir('kingdom-e2e-realm-');
    key = await writeKeyFile(join(cleanup.tempDir('kingdom-e2e-realm-key-'), `${randomUUID()}.key`));
    await initRealm(dir, 'team', key);
    await publish({ dir, key, katas: [HELLO, DEPLOY, NOTES], title: 'Team katas' });
    site = await serveStatic(dir, { headers: { 'access-control-allow-origin': '*' } });
    cleanup.add('realm site', () => site.close());
    fake = await startFakeOpenAI();
    cleanup.add('fake llm', () => fake.close());
    ({ page, api, problems } = await openBuiltApp(cleanup, 'realms', '#/realms', UI_MS));
  });
  after(() => cleanup.run());

  async function query<T>(name: string, params: unknown = {}): Promise<T> {
    const r = await api.query<T>(name, params);
    assert.ok(r.ok, `${name}: ${JSON.stringify(r)}`);
    return r.value;
  }

  test('register the realm: root fetched, keys confirmed, index verified', async () => {
    await page.locator(sel('nav-realms')).click({ timeout: UI_MS });
    await page.locator(sel('realms-empty')).waitFor({ timeout: UI_MS });
    await page.locator(sel('realm-register-toggle')).click();
    await page.locator(sel('realm-url')).fill(`${site.url}/`);
    await page.locator(sel('realm-fetch-root')).click();
    const keyRow = page.locator(sel('realm-root-key'));
    await keyRow.waitFor({ timeout: UI_MS });
    const root = JSON.parse(readFileSync(join(dir, 'realm-root.json'), 'utf8')) as { keys: { keyId: string }[] };
    assert.equal(await keyRow.getAttribute('data-key-id'), root.keys[0]!.keyId, 'the key a person compares is the root’s');
    assert.equal(await page.locator(sel('realm-id')).inputValue(), 'team', 'the id defaults to the realm’s name');
    assert.equal(await page.locator(sel('realm-register-submit')).isDisabled(), true, 'nothing is trusted before the keys are confirmed');
    await page.locator(sel('realm-confirm-keys')).check();
    await page.locator(sel('realm-register-submit')).click();
    const row = page.locator(sel('realm-row', '[data-id="team"][data-trust="trusted"]'));
    await row.waitFor({ timeout: RUN_MS });
    assert.match((await row.locator(sel('realm-index-version')).textContent()) ?? '', /version 1, 3 kata versions/);
  });

  test('browse: search and tag filter live in the address; versions say whether they run here', async () => {
    await page.locator(sel('realms-tab-browse')).click();
    await page.locator(sel('kata-row')).nth(2).waitFor({ timeout: UI_MS });
    assert.equal(await page.locator(sel('kata-row')).count(), 3);
    await page.locator(sel('kata-search')).fill('deploy');
    await page.locator(sel('kata-search-submit')).click();
    await page.waitForFunction(() => location.hash.includes('q=deploy'), undefined, { timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="kata-row"]').length === 1, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('kata-row')).getAttribute('data-name'), 'deploy.service');
    await page.locator(sel('kata-search')).fill('');
    await page.locator(sel('kata-search-submit')).click();
    await page.locator(sel('kata-tag', '[data-tag="greeting"]')).click();
    await page.waitForFunction(() => location.hash.includes('tag=greeting') && !location.hash.includes('q='), undefined, { timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="kata-row"]').length === 1, undefined, { timeout: UI_MS });
    assert.equal(await page.locator(sel('kata-row')).getAttribute('data-name'), 'hello.greet');
    await page.locator(sel('kata-compatible')).waitFor({ timeout: UI_MS });
  });

  test('install a kata with approval: checklist, receipt in the audit chain, then run it to success', async () => {
    await page.locator(`${sel('kata-row', '[data-name="hello.greet"]')} ${sel('kata-open')}`).click();
    const v = page.locator(sel('kata-version', '[data-version="1.0.0"][data-compatible="true"]'));
    await v.waitFor({ timeout: UI_MS });
    await v.locator(sel('kata-install')).click();
    await page.locator(sel('install-status', '[data-status="proposed"]')).waitFor({ timeout: UI_MS });
    assert.match((await page.locator(sel('proposal-version')).textContent()) ?? '', /hello\.greet 1\.0\.0/);
    assert.match((await page.locator(sel('proposal-sha256')).textContent()) ?? '', new RegExp(pack('hello.greet', '1.0.0').sha256));
    assert.match((await page.locator(sel('proposal-hosts')).textContent()) ?? '', /api\.example\.com/);
    await page.locator(sel('proposal-compatible')).waitFor();
    assert.deepEqual(await query<unknown[]>('realm.installed', {}), [], 'nothing is installed before the approval');

    await page.locator(sel('install-approve')).click();
    await page.locator(sel('install-status', '[data-status="installed"]')).waitFor({ timeout: RUN_MS });
    const receipt = page.locator(sel('install-receipt-event'));
    await receipt.waitFor({ timeout: UI_MS });
    const seq = Number(/#\/events\/(\d+)/.exec((await receipt.getAttribute('href')) ?? '')?.[1]);
    const ev = await query<{ type: string }>('events.get', { seq });
    assert.equal(ev.type, 'realm.installed');
    const audit = await query<{ eventSeq: number; action: string }[]>('audit.list', { afterSeq: 0, limit: 1000 });
    assert.ok(audit.some((a) => a.eventSeq === seq), 'the receipt has its entry in the audit chain');
    assert.match((await page.locator(sel('install-receipt')).textContent()) ?? '', /audit entry #\d+/);
    await page.screenshot({ path: join(SCREENS, 'realms-receipt-1440.png'), fullPage: true });

    await page.locator(sel('install-run')).click();
    await page.waitForFunction(() => location.hash === '#/workflows/hello_greet_flow/run', undefined, { timeout: UI_MS });
    await page.locator(sel('run-input-who')).fill('Ada');
    await page.locator(sel('run-start')).click();
    await page.waitForFunction(() => /^#\/sessions\/[^/]+$/.test(location.hash), undefined, { timeout: UI_MS });
    await page.locator(sel('session-status', '[data-status="succeeded"]')).waitFor({ timeout: RUN_MS });
    assert.match((await page.locator(sel('session-output')).textContent()) ?? '', /Hello, Ada/);
  });

  test('an upgrade shows the capability diff in colour and words; a rejection keeps its reason', async () => {
    await publish({ dir, key, katas: [kata('hello.greet', '1.1.0', { tags: ['greeting', 'demo'], description: 'Greet someone by name', hosts: ['hooks.example.com'], greeting: 'Hi' })] });
    await page.evaluate(() => { location.hash = '#/realms'; });
    await page.locator(sel('realm-refresh')).click({ timeout: UI_MS });
    await page.locator(sel('realm-index-version', ':text("version 2")')).waitFor({ timeout: RUN_MS });
    await page.locator(sel('realms-tab-installed')).click();
    await page.locator(sel('installed-upgrade')).click({ timeout: UI_MS });
    await page.locator(sel('install-status', '[data-status="proposed"]')).waitFor({ timeout: UI_MS });
    const added = page.locator(`${sel('proposal-hosts')} ${sel('diff-added')}`);
    const removed = page.locator(`${sel('proposal-hosts')} ${sel('diff-removed')}`);
    assert.equal((await added.textContent())?.trim(), '+ hooks.example.com (added)');
    assert.equal((await removed.textContent())?.trim(), '− api.example.com (removed)');
    const [addColor, removeColor] = await Promise.all([added.evaluate((el) => getComputedStyle(el).color), removed.evaluate((el) => getComputedStyle(el).color)]);
    assert.notEqual(addColor, removeColor, 'added and removed differ in colour as well as in words');
    assert.match((await page.locator(sel('proposal-diff-sentence')).textContent()) ?? '', /adds host it may call: hooks\.example\.com; removes host it may call: api\.example\.com/);
    await page.screenshot({ path: join(SCREENS, 'realms-upgrade-diff-1440.png'), fullPage: true });
    await page.locator(sel('install-reject')).click();
    await page.locator(sel('install-reject-reason')).fill('It calls a host I do not know.');
    await page.locator(sel('install-reject-confirm')).click();
    await page.locator(sel('install-rejected')).waitFor({ timeout: UI_MS });
    assert.match((await page.locator(sel('install-rejected')).textContent()) ?? '', /It calls a host I do not know\..*Nothing was installed/);
    const installed = await query<{ name: string; version: string }[]>('realm.installed', {});
    assert.deepEqual(installed.map((i) => `${i.name}@${i.version}`), ['hello.greet@1.0.0'], 'still the version approved before');
  });

  test('a tampered pack is refused with its sentence, and nothing is installed', async () => {
    const { sha256 } = pack('deploy.service', '1.0.0');
    const file = join(dir, 'packs', sha256);
    writeFileSync(file, readFileSync(file, 'utf8').replace('Deploy a service', 'Deploy a servicE'));
    await page.evaluate(() => { location.hash = '#/realms/browse/team%2Fdeploy.service'; });
    await page.locator(`${sel('kata-version', '[data-version="1.0.0"]')} ${sel('kata-install')}`).click({ timeout: UI_MS });
    await page.locator(sel('install-approve')).click({ timeout: UI_MS });
    await page.locator(sel('install-status', '[data-status="failed"]')).waitFor({ timeout: RUN_MS });
    const failed = (await page.locator(sel('install-failed')).textContent()) ?? '';
    assert.match(failed, /The pack of deploy\.service@1\.0\.0 does not match the realm's signed index: it was changed or damaged on the way\. Nothing was installed\./);
    const installed = await query<{ name: string }[]>('realm.installed', {});
    assert.ok(!installed.some((i) => i.name === 'deploy.service'), 'nothing installed');
    const flows = await query<{ name: string }[]>('workflow.list', {});
    assert.ok(!flows.some((w) => w.name === 'deploy_service_flow'), 'its workflow is not in the library');
  });

  async function askIntent(sentence: string, explanation: string): Promise<void> {
    fake.push({ toolCalls: [{ name: 'final_answer', arguments: { workflow: 'none', inputs: {}, confidence: 0.9, explanation } }] });
    await page.keyboard.press('Control+K');
    await page.locator(sel('intent-input')).fill(sentence);
    await page.locator(sel('intent-input')).press('Enter');
    const missing = page.locator(sel('intent-missing'));
    await missing.waitFor({ timeout: RUN_MS });
    await page.waitForFunction(() => document.querySelector('[data-testid="intent-missing"]')?.getAttribute('data-miss') !== '', undefined, { timeout: UI_MS });
    assert.match((await missing.textContent()) ?? '', new RegExp(explanation.replace(/[.]/g, '\\.')));
    await page.locator(sel('intent-dojo')).click();
    await page.waitForFunction(() => location.hash.startsWith('#/realms/dojo?'), undefined, { timeout: UI_MS });
  }

  test('Dojo: an intent no workflow meets is recorded and leads to a realm kata, installed through the same approval', async () => {
    const set = await api.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'provider' });
    assert.ok(set.ok, JSON.stringify(set));
    await askIntent('Summarise my notes of today', 'No workflow of the library summarises notes.');
    const open = await query<{ id: string; request: string; source: string }[]>('capability.missing.list', {});
    assert.equal(open.length, 1, 'the miss is recorded');
    assert.deepEqual([open[0]!.request, open[0]!.source], ['Summarise my notes of today', 'intent']);
    const match = page.locator(sel('dojo-match', '[data-name="notes.summary"]'));
    await match.waitFor({ timeout: UI_MS });
    assert.match((await match.textContent()) ?? '', /“note” in its name/);
    await page.screenshot({ path: join(SCREENS, 'realms-dojo-1440.png'), fullPage: true });
    await match.locator(sel('dojo-propose')).click();
    await page.locator(sel('install-status', '[data-status="proposed"]')).waitFor({ timeout: UI_MS });
    await page.locator(sel('install-approve')).click();
    await page.locator(sel('install-status', '[data-status="installed"]')).waitFor({ timeout: RUN_MS });
    await pollUntil(async () => (await query<unknown[]>('capability.missing.list', {})).length === 0, { timeoutMs: UI_MS, what: 'the miss to close' });
    const closed = (await query<{ id: string; resolved: { how: string; ref: string } | null }[]>('capability.missing.list', { open: false })).find((m) => m.id === open[0]!.id);
    assert.deepEqual(closed?.resolved && [closed.resolved.how, closed.resolved.ref], ['installed', 'team/notes.summary@1.0.0'], 'the miss is closed by the install');
  });

  test('Dojo: the model drafts a kata, reviewed in the editor, saved only on approval', async () => {
    const flow = 'name: water_plants\nversion: 0.1.0\ndescription: Remind me to water the plants\ninputs:\n  plant: { type: string, default: ficus }\nsteps:\n  - id: remind\n    type: task\n    runner: transform\n    with:\n      value: "Water the {{ inputs.plant }}"\n';
    await askIntent('Remind me to water the plants', 'Nothing in the library reminds anyone of anything.');
    await page.locator(sel('dojo-no-match')).waitFor({ timeout: UI_MS });
    fake.push({ json: { name: 'water_plants', description: 'Reminds you to water the plants.', tags: ['home', 'Plants!'], complexity: 'simple', workflow: '```yaml\n' + flow + '```' } });
    const before = fake.count();
    await page.locator(sel('dojo-draft-start')).click();
    await page.locator(sel('dojo-draft-workflow-check', '[data-state="ok"]')).waitFor({ timeout: RUN_MS });
    await page.locator(sel('dojo-draft-kata-check', '[data-state="ok"]')).waitFor({ timeout: UI_MS });
    assert.equal(fake.count(), before + 1, 'one model call');
    const prompt = JSON.stringify(fake.requests.at(-1)!.body);
    assert.ok(prompt.includes('Remind me to water the plants'), 'the request is in the prompt');
    assert.ok(!(await query<{ name: string }[]>('workflow.list', {})).some((w) => w.name === 'water_plants'), 'nothing saved before the approval');
    await page.screenshot({ path: join(SCREENS, 'realms-dojo-draft-1440.png'), fullPage: true });
    await page.locator(sel('dojo-draft-approve')).click();
    await page.locator(sel('dojo-draft-saved')).waitFor({ timeout: UI_MS });
    const wf = await query<{ name: string } | null>('workflow.get', { name: 'water_plants' });
    assert.equal(wf?.name, 'water_plants', 'the workflow exists');
    const manifests = await query<{ kind: string; name: string }[]>('manifest.list', { kind: 'Kata' });
    assert.ok(manifests.some((m) => m.kind === 'Kata' && m.name === 'water_plants'), 'its Kata manifest exists');
    assert.deepEqual(await query<unknown[]>('capability.missing.list', {}), [], 'the miss is closed as drafted');
  });

  test('a re-pointed version is a security incident banner, with details one click away', async () => {
    const env = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { payload: string };
    const index = JSON.parse(new TextDecoder().decode(base64Decode(env.payload)!)) as RealmIndex;
    const katas = index.katas.map((k) => (k.name === 'hello.greet' && k.version === '1.0.0' ? { ...k, sha256: 'f'.repeat(64) } : k));
    writeFileSync(join(dir, 'index.json'), JSON.stringify(await signIndex({ ...index, version: index.version + 1, katas }, [key])) + '\n');
    await page.evaluate(() => { location.hash = '#/realms'; });
    await page.locator(sel('realm-refresh')).click({ timeout: UI_MS });
    const banner = page.locator(sel('realm-incident', '[data-code="repointed"]'));
    await banner.waitFor({ timeout: RUN_MS });
    assert.equal((await banner.locator(sel('realm-incident-sentence')).textContent())?.trim(),
      "This realm's index maps hello.greet@1.0.0 to different bytes than before: someone may have tampered with it. Nothing was installed. Ask the realm's owner before trusting it again.");
    assert.equal(await banner.locator(sel('realm-incident-message')).isVisible(), false, 'details are folded');
    await banner.locator(sel('realm-incident-details')).click();
    assert.equal(await banner.locator(sel('realm-incident-message')).isVisible(), true);
    await page.locator(sel('realm-row', '[data-trust="incident"]')).waitFor({ timeout: UI_MS });
  });

  test('every view: axe finds no serious or critical violation at 1440, 820 and 390 px', async () => {
    const views = ['#/realms', '#/realms/browse', '#/realms/browse/team%2Fhello.greet', '#/realms/installed', '#/realms/dojo?request=summarise%20notes'];
    const found: string[] = [];
    for (const width of [1440, 820, 390]) {
      await page.setViewportSize({ width, height: 900 });
      for (const hash of views) {
        await page.evaluate((h) => { location.hash = h; }, hash);
        await page.locator(sel('realms-tab-realms')).waitFor({ timeout: UI_MS });
        await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'), undefined, { timeout: UI_MS });
        const bad = blocking(await runAxe(page));
        if (bad.length) found.push(formatViolations(`${hash} @${width}`, bad));
        const name = hash.replace(/^#\//, '').replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '');
        await page.screenshot({ path: join(SCREENS, `realms-${name}-${width}.png`), fullPage: true });
        const wide = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1);
        assert.equal(wide, false, `${hash} at ${width}px scrolls sideways`);
      }
    }
    await page.setViewportSize({ width: 1440, height: 900 });
    assert.deepEqual(found, []);
  });

  test('no CSP violations and no console errors', async () => {
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
  });
});

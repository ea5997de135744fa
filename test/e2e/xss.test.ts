/**
 * Markdown XSS in real Chromium (the built app on OPFS, with its CSP): a corpus of script,
 * event-handler, URL-scheme, SVG, MathML mutation and form payloads, stored as Forest notes through
 * the documented API (one note each) and through the UI's form (all in one note), then shown on the
 * node pages, in the list's previews and in search snippets, and returned as an LLM answer by a fake
 * OpenAI server on 127.0.0.1 (the intent bar's answer card). Everywhere: no script runs (no dialog,
 * the sentinel is never called), no CSP violation, no console error, and the rendered DOM has no
 * on* attribute, no javascript:/vbscript:/data: URL, no script/iframe/object/embed/form/svg/math/
 * style/base/meta/input/button element and no remote image. The counts are printed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../helpers/fake-openai.ts';
import type { StaticServer } from '../helpers/static-server.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp, type PageProblems } from './app-support.ts';
import { unwrap, type KingdomApiPage } from './pages/kingdom-api.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

const UI_MS = 20_000;
const RUN_MS = 60_000;

/** Each payload calls the sentinel `__xss(name)` (or alert) if it ever runs. */
const CORPUS: readonly [string, string][] = [
  ['script tag', `<script>__xss('script')</script>`],
  ['img onerror', `<img src=x onerror="__xss('img')">`],
  ['img onerror, no quotes', `<IMG SRC=x ONERROR=__xss('IMG')>`],
  ['svg onload', `<svg onload="__xss('svg')">`],
  ['svg script', `<svg><script>__xss('svgscript')</script></svg>`],
  ['svg xlink:href', `<svg><a xlink:href="javascript:__xss('xlink')"><text x="0" y="15">svg link</text></a></svg>`],
  ['markdown javascript: link', `[md link](javascript:__xss('mdlink'))`],
  ['markdown JaVaScRiPt: link', `[mixed case](JaVaScRiPt:__xss('mixed'))`],
  ['markdown entity javascript: link', `[entity](&#106;avascript:__xss('entity'))`],
  ['markdown hex-entity javascript: link', `[hex](&#x6A;&#x61;vascript:__xss('hex'))`],
  ['markdown spaced javascript: link', `[spaced](<  javascript:__xss('spaced')>)`],
  ['markdown vbscript: link', `[vb](vbscript:msgbox(1))`],
  ['markdown data: link', `[data](data:text/html;base64,PHNjcmlwdD5fX3hzcygnZGF0YScpPC9zY3JpcHQ+)`],
  ['markdown javascript: image', `![js image](javascript:__xss('mdimg'))`],
  ['markdown svg data image', `![svg image](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9Il9feHNzKCdzdmdpbWcnKSIvPg==)`],
  ['markdown remote image (beacon)', `![tracking pixel](https://tracker.example/pixel.png?id=1)`],
  ['markdown javascript: autolink', `<javascript:__xss('autolink')>`],
  ['markdown reference javascript: link', `[ref link][evil]\n\n[evil]: javascript:__xss('ref')`],
  ['markdown link title', `[title](https://example.com "onmouseover=__xss('title')")`],
  ['HTML javascript: link', `<a href="javascript:__xss('htmllink')">html link</a>`],
  ['HTML spaced javascript: link', `<a href="  javascript:__xss('htmlspaced')">spaced html</a>`],
  ['HTML entity javascript: link', `<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:__xss('htmlentity')">entity html</a>`],
  ['HTML tab in javascript:', `<a href="jav&#x09;ascript:__xss('tab')">tab</a>`],
  ['HTML data: link', `<a href="data:text/html,<script>__xss('htmldata')</script>">data html</a>`],
  ['HTML onclick on a link', `<a href="https://example.com" onclick="__xss('onclick')">onclick</a>`],
  ['iframe', `<iframe src="javascript:__xss('iframe')"></iframe><iframe srcdoc="<script>parent.__xss('srcdoc')</script>"></iframe>`],
  ['object and embed', `<object data="javascript:__xss('object')"></object><embed src="javascript:__xss('embed')">`],
  ['form formaction', `<form action="javascript:__xss('form')"><button formaction="javascript:__xss('formaction')">go</button><input type="submit"></form>`],
  ['input autofocus onfocus', `<input autofocus onfocus="__xss('autofocus')">`],
  ['details ontoggle', `<details open ontoggle="__xss('details')"><summary>s</summary>x</details>`],
  ['style tag and attribute', `<style>*{display:none}</style><div style="background:url(javascript:__xss('style'))">styled</div>`],
  ['base and meta refresh', `<base href="javascript:__xss('base')//"><meta http-equiv="refresh" content="0;url=javascript:__xss('meta')">`],
  ['math mutation (mglyph/style)', `<math><mtext><table><mglyph><style><img src=x onerror="__xss('mglyph')">`],
  ['math mutation (mi xlink)', `<math><mi xlink:href="javascript:__xss('mi')">mi</mi></math>`],
  ['noscript mutation', `<noscript><p title="</noscript><img src=x onerror=__xss('noscript')>">`],
  ['template and textarea breakout', `<template><img src=x onerror=__xss('template')></template><textarea></textarea><img src=x onerror=__xss('textarea')></textarea>`],
  ['wiki link with markup', `[[<img src=x onerror=__xss('wiki')>]] and [[Note|<svg onload=__xss('wikilabel')>]]`],
  ['tag with markup', `#ops<img src=x onerror=__xss('tag')>`],
  ['bare tags with attributes', `<b onmouseover="__xss('b')">bold</b> <kbd>Ctrl</kbd>`],
  ['code is text', '`<img src=x onerror=__xss(\'code\')>`\n\n```html\n<script>__xss(\'fence\')</script>\n```'],
];

describe('markdown XSS corpus', () => {
  const cleanup = new Cleanup();
  let server: StaticServer;
  let page: Page;
  let api: KingdomApiPage;
  let problems: PageProblems;
  let fake: FakeLlmServer;
  const dialogs: string[] = [];
  const surfaces: string[] = [];
  let elementsChecked = 0;
  const ids: string[] = [];

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    fake = await startFakeOpenAI();
    cleanup.add('fake llm', () => fake.close());
    ({ server, page, api, problems } = await openBuiltApp(cleanup, 'xss', '#/forest', UI_MS));
    await page.setViewportSize({ width: 1440, height: 900 });
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    // The sentinel: any payload that runs calls it (in this document and any later one).
    const sentinel = () => {
      const w = window as unknown as { __xssHits: string[]; __xss: (n: string) => void };
      w.__xssHits = [];
      w.__xss = (n) => w.__xssHits.push(n);
    };
    await page.context().addInitScript(sentinel);
    await page.evaluate(sentinel);
  });
  after(() => cleanup.run());

  const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;
  const open = async (h: string) => {
    await page.goto(`${server.url}/${h}`);
    await page.locator(sel('storage-kind')).first().waitFor({ timeout: UI_MS });
  };

  /** Every rendered markdown container on the page: what must never be there. */
  async function audit(surface: string, min: number): Promise<void> {
    await page.waitForFunction((n) => document.querySelectorAll('.md[data-rendered="true"]:not([hidden])').length >= n, min, { timeout: UI_MS });
    const found = await page.evaluate(() => {
      const bad: string[] = [];
      let elements = 0;
      const roots = [...document.querySelectorAll('.md[data-rendered="true"]:not([hidden])')];
      const forbidden = 'script, iframe, frame, object, embed, form, input, button, textarea, select, svg, math, style, base, meta, link, template, noscript, video, audio';
      for (const root of roots) {
        for (const el of root.querySelectorAll('*')) {
          elements++;
          for (const a of el.attributes) {
            if (/^on/i.test(a.name)) bad.push(`${el.tagName} has ${a.name}`);
            if (['style', 'formaction', 'action', 'xlink:href', 'srcdoc', 'srcset'].includes(a.name.toLowerCase())) bad.push(`${el.tagName} has ${a.name}`);
            if (/^(href|src)$/i.test(a.name) && /^\s*(javascript|vbscript|data)\s*:/i.test(a.value.replace(/[\u0000-\u0020]/g, '')) && !(el.tagName === 'IMG' && /^data:image\/(png|gif|jpeg|webp);base64,/i.test(a.value))) bad.push(`${el.tagName} ${a.name}=${a.value.slice(0, 40)}`);
          }
          if (el.matches(forbidden)) bad.push(`element ${el.tagName}`);
          if (el.tagName === 'IMG' && /^(https?:)?\/\//i.test(el.getAttribute('src') ?? '')) bad.push(`remote image ${el.getAttribute('src')}`);
          if (el.tagName === 'A' && /^https?:/i.test(el.getAttribute('href') ?? '') && (el.getAttribute('rel') !== 'noopener noreferrer' || el.getAttribute('target') !== '_blank')) bad.push(`external link without rel/target: ${el.outerHTML.slice(0, 80)}`);
        }
        // Handlers would run on these events if any had survived (they did not: see above).
        for (const el of root.querySelectorAll('*')) for (const type of ['mouseover', 'focus', 'toggle', 'load', 'error']) el.dispatchEvent(new Event(type));
      }
      return { bad, elements, roots: roots.length };
    });
    assert.deepEqual(found.bad, [], `${surface}: nothing dangerous rendered`);
    elementsChecked += found.elements;
    surfaces.push(`${surface}: ${found.roots} rendered blocks, ${found.elements} elements`);
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __xssHits: string[] }).__xssHits), [], `${surface}: the sentinel was never called`);
    assert.deepEqual(dialogs, [], `${surface}: no dialog`);
  }

  test('stored through the documented API, one note per payload: node pages, list previews, search snippets', async () => {
    const batch = CORPUS.map(([name, body], i) => ({ type: 'forest.node.create', payload: { title: `XSS ${i} ${name}`, body: `xss probe ${i}\n\n${body}`, tags: ['xss'] }, idempotencyKey: `xss-${i}` }));
    const results = unwrap(await api.commandBatch(batch), 'commandBatch');
    for (const r of results) ids.push((r.value as { nodeId: string }).nodeId);
    for (const [i, id] of ids.entries()) {
      await open(`#/forest/${id}`);
      await page.locator(`${sel('forest-body')}[data-rendered="true"]`).waitFor({ timeout: UI_MS });
      await audit(`API note ${i} (${CORPUS[i]![0]})`, 1);
    }
    await open('#/forest?tag=xss');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="forest-hit"]').length === n, CORPUS.length, { timeout: UI_MS });
    await audit('list previews', CORPUS.length);
    await page.locator(sel('forest-search')).fill('xss probe');
    await page.locator(sel('forest-results', '[data-mode="search"]')).waitFor({ timeout: UI_MS });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="forest-snippet"] mark').length > 0, undefined, { timeout: UI_MS });
    await audit('search snippets', CORPUS.length);
  });

  test('typed in the UI\'s form, all in one note', async () => {
    await open('#/forest');
    await page.locator(sel('forest-new-toggle')).click();
    await page.locator(sel('forest-node-title')).fill('XSS all in one');
    await page.locator(sel('forest-node-body')).fill(CORPUS.map(([, body]) => body).join('\n\n'));
    await page.locator(sel('forest-node-save')).click();
    await page.waitForFunction(() => /^#\/forest\/[0-9a-f-]{36}$/.test(location.hash), undefined, { timeout: UI_MS });
    await page.locator(`${sel('forest-body')}[data-rendered="true"]`).waitFor({ timeout: UI_MS });
    await audit('UI note (whole corpus)', 1);
    // The safe parts still render: the remote image as a link with its alt text, external links, bare tags.
    const body = page.locator(`${sel('forest-body')}[data-rendered="true"]`);
    assert.equal(await body.locator('a.md-image', { hasText: 'tracking pixel' }).count(), 1, 'the remote image is a link, never fetched');
    assert.equal(await body.locator('kbd').count(), 1);
    assert.match((await body.textContent()) ?? '', /<script>__xss\('script'\)<\/script>/, 'a script tag is shown as text');
  });

  test('returned as an LLM answer by a fake OpenAI server: the intent card', async () => {
    const hello = EXAMPLES.find((e) => e.name === 'hello')!;
    unwrap(await api.command({ type: 'workflow.save', payload: { source: hello.source }, idempotencyKey: 'xss-hello' }), 'workflow.save');
    unwrap(await api.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'xss-provider' }), 'llm.provider.set');
    const explanation = CORPUS.map(([, body]) => body).join('\n\n');
    fake.push({ toolCalls: [{ name: 'final_answer', arguments: { workflow: 'hello', inputs: { who: 'x' }, confidence: 0.9, explanation } }] });
    await open('#/workflows');
    await page.keyboard.press('Control+K');
    await page.locator(sel('intent-input')).fill('Say hello');
    await page.locator(sel('intent-input')).press('Enter');
    await page.locator(sel('intent-card', '[data-workflow="hello"]')).waitFor({ timeout: RUN_MS });
    await page.locator(`${sel('intent-explanation')} .md[data-rendered="true"]`).waitFor({ timeout: UI_MS });
    assert.equal(fake.count(), 1, 'one model call');
    await audit('LLM answer (intent card)', 1);
  });

  test('no script ran, no CSP violation, no console error; the counts', async () => {
    assert.deepEqual(await page.evaluate(() => (window as unknown as { __xssHits: string[] }).__xssHits), []);
    assert.deepEqual(dialogs, []);
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events');
    assert.deepEqual(problems.errors, [], 'console errors (page and workers)');
    console.log(`XSS corpus: ${CORPUS.length} payloads; ${surfaces.length} surfaces checked, ${elementsChecked} rendered elements audited; 0 scripts ran, 0 dialogs, 0 CSP violations`);
    for (const s of surfaces.slice(-4)) console.log(`  ${s}`);
  });
});

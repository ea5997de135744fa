/**
 * The markdown renderer's pure half (src/lib/markdown/render.ts, syntax.ts) and the sanitizer's
 * configuration (sanitize.ts; the sanitizing itself runs in Chromium: test/e2e/xss.test.ts):
 * wiki links resolved or not, #tags as links to the filtered list, search marks, code left alone,
 * everything the renderer writes escaped, the kernel and the renderer agreeing on what a tag is,
 * and no dangerous tag or URL scheme allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { markdownToHtml, rawHtml } from '../../../src/lib/markdown/render.ts';
import { readTag, wikiTargets } from '../../../src/lib/markdown/syntax.ts';
import { ALLOWED_TAGS, ALLOWED_URL, PURIFY_CONFIG } from '../../../src/lib/markdown/sanitize.ts';
import { bodyTags } from '../../../worker/domains/forest/tags.ts';
import { wikiLinks } from '../../../worker/domains/forest/mentions.ts';

const tagsOf = (html: string) => [...html.matchAll(/data-testid="tag-link" data-tag="([^"]*)"/g)].map((m) => m[1]!);

test('wiki links: resolved ones link to the note, the others say they are unresolved', () => {
  const html = markdownToHtml('Read [[Deploy|the deploy]] and [[Missing]].', { resolved: new Map([['deploy', 'n-1'], ['Missing', null]]) });
  assert.match(html, /<a href="#\/forest\/n-1" class="md-wiki" data-testid="wiki-link" data-target="Deploy">the deploy<\/a>/);
  assert.match(html, /<span class="md-unresolved" data-testid="wiki-unresolved" data-target="Missing" title="No note is titled “Missing” yet: create one to link it.">Missing<\/span>/);
  assert.match(markdownToHtml('[[Nobody asked]]'), /md-unresolved/, 'unknown targets are unresolved');
});

test('what the renderer writes is escaped', () => {
  const html = markdownToHtml('[[a"><img src=x onerror=alert(1)>|<b>x</b>]]', { resolved: new Map([['a"><img src=x onerror=alert(1)>', 'id"><script>']]) });
  assert.ok(!html.includes('<img'), html);
  assert.ok(!html.includes('<script>'), html);
  assert.ok(!html.includes('<b>'), html);
  assert.match(html, /href="#\/forest\/id%22%3E%3Cscript%3E"/);
});

test('#tags become links to the list filtered by them; code, links and anchors do not', () => {
  assert.deepEqual(tagsOf(markdownToHtml('#ops and **#Deploy** in `#code`\n\n```\n#fenced\n```\n[#in-link](https://x.y) [x](#anchor) a#b')), ['ops', 'deploy']);
  assert.match(markdownToHtml('#ops'), /<a href="#\/forest\?tag=ops" class="md-tag" data-testid="tag-link" data-tag="ops">#ops<\/a>/);
  assert.match(markdownToHtml('#café'), /href="#\/forest\?tag=caf%C3%A9"/);
  assert.doesNotMatch(markdownToHtml('# Heading'), /md-tag/);
});

test('the kernel and the renderer agree on the tags of a note', () => {
  const corpus = [
    '#ops then #Deploy, #ops/deploy/ and #team_a-b.',
    '**#bold** _#em_ ~~#gone~~\n> #quoted\n\n| a | b |\n|---|---|\n| #cell | x |',
    '#日本語 #café #Привет #1984 a#b c##d',
    '`#code` ``a `#b` c`` #after-code',
    '```\n#fenced\n```\n~~~\n#tilde\n~~~\n#after',
    '[[Note#Heading]] [[A|label]] #real',
    '&#39; \\#escaped [x](#anchor) https://host/#frag <a href="#x">#y</a>',
    `#${'a'.repeat(65)} #${'b'.repeat(64)}`,
    '- [ ] #todo item\n- [x] #done item',
  ];
  for (const body of corpus) assert.deepEqual([...new Set(tagsOf(markdownToHtml(body)))], bodyTags(body), body);
});

test('the kernel and the renderer agree on the wiki links of a note', () => {
  const body = 'See [[Deploy]], [[deploy|again]], [[ Rollback plan |plan]].\n`[[not code]]`\n```\n[[nor this]]\n```';
  assert.deepEqual(wikiTargets(body.replace(/```[\s\S]*?```|`[^`]*`/g, '')), wikiLinks(body).map((l) => l.target));
  const html = markdownToHtml(body);
  assert.deepEqual([...html.matchAll(/data-target="([^"]*)"/g)].map((m) => m[1]), ['Deploy', 'deploy', 'Rollback plan']);
});

test('search marks only when asked; task lists are text, never inputs', () => {
  assert.match(markdownToHtml('a «deploy» b', { marks: true }), /<mark>deploy<\/mark>/);
  assert.doesNotMatch(markdownToHtml('a «deploy» b'), /<mark>/);
  const tasks = markdownToHtml('- [x] done\n- [ ] todo');
  assert.doesNotMatch(tasks, /<input/);
  assert.match(tasks, /☑/);
  assert.match(tasks, /☐/);
});

test('readTag: the grammar', () => {
  assert.deepEqual(readTag('#Ops/Deploy_ rest'), { raw: '#Ops/Deploy', tag: 'ops/deploy' });
  assert.equal(readTag('#2024'), null);
  assert.equal(readTag('ops'), null);
  assert.equal(readTag(`#${'x'.repeat(65)}`), null);
});

test('the sanitizer allows no script-capable element and no dangerous URL', () => {
  for (const t of ['script', 'style', 'iframe', 'object', 'embed', 'form', 'input', 'button', 'textarea', 'select', 'svg', 'math', 'link', 'meta', 'base', 'template', 'frame', 'video', 'audio']) {
    assert.ok(!(ALLOWED_TAGS as readonly string[]).includes(t), `${t} is not allowed`);
  }
  for (const a of PURIFY_CONFIG.ALLOWED_ATTR) assert.ok(!/^on|^style$|^id$|^name$|^formaction$|^xlink|^srcset$/.test(a), `${a} is allowed`);
  assert.equal(PURIFY_CONFIG.ALLOW_DATA_ATTR, false);
  assert.equal(PURIFY_CONFIG.ALLOW_UNKNOWN_PROTOCOLS, false);
  for (const ok of ['https://example.com', 'http://127.0.0.1:4173/x', 'mailto:a@b.c', '#/forest/x']) assert.ok(ALLOWED_URL.test(ok), ok);
  for (const bad of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'vbscript:x', 'data:text/html,<script>', 'file:///etc/passwd', '//evil.example', 'relative/path', 'ftp://x']) {
    assert.ok(!ALLOWED_URL.test(bad), bad);
  }
});

test('raw HTML: bare formatting tags stay, every other tag is text, comments go, no attribute survives', () => {
  assert.equal(rawHtml('<kbd>Ctrl</kbd>+<SUB>2</SUB>'), '<kbd>Ctrl</kbd>+<sub>2</sub>');
  assert.equal(rawHtml('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert(1)&gt;');
  assert.equal(rawHtml('<b onclick="x()">b</b>'), '&lt;b onclick=&quot;x()&quot;&gt;b</b>');
  assert.equal(rawHtml('<script>alert(1)</script>'), '&lt;script&gt;alert(1)&lt;/script&gt;');
  assert.equal(rawHtml('a <!-- hidden --> b <!-- unclosed'), 'a  b ');
  assert.equal(rawHtml('<svg><script>x</script></svg> <math><mi>x</mi></math>'), '&lt;svg&gt;&lt;script&gt;x&lt;/script&gt;&lt;/svg&gt; &lt;math&gt;&lt;mi&gt;x&lt;/mi&gt;&lt;/math&gt;');
  for (const payload of ['<img src=x onerror=alert(1)>', '<svg onload=alert(1)>', '<a href="javascript:alert(1)">x</a>', '<iframe src="data:text/html,x">', '<form><button formaction=javascript:alert(1)>x', '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>']) {
    const html = markdownToHtml(`before\n\n${payload}\n\nafter ${payload}`);
    assert.doesNotMatch(html, /<(?!\/?(?:p|br)\b)[a-z][^>]*\s[a-z-]+=/i, `no tag with an attribute from ${payload}: ${html}`);
  }
});

/**
 * Markdown → HTML with marked (GFM, single line breaks kept, as in Obsidian), plus the note syntax:
 * `[[wiki links]]` (resolved → a link to the note, unresolved → a span that says so), `#tags` (→ a
 * link to the Forest list filtered by the tag) and, for search snippets, `«matches»` (→ <mark>).
 * Pure (no DOM): the HTML it makes is NOT safe yet — raw HTML in the text passes through, and
 * only sanitize.ts makes it safe. Never put its output in a page without that.
 *
 * Invariants:
 * 1. Everything this module writes itself is escaped (targets, labels, tags, titles).
 * 2. Wiki links and tags are not read inside code (marked tokenizes code first) nor inside a link's
 *    text (a link in a link); a tag needs a boundary before its `#` (syntax.ts), like the kernel.
 * 3. Task-list checkboxes are drawn as text (☑ / ☐): no <input> ever comes out of a note.
 * 4. Raw HTML in a note keeps only bare formatting tags (BARE_TAGS, no attribute at all); any
 *    other tag is shown as text and comments are dropped. So no attribute a note typed ever
 *    reaches a parser: an `onerror=` is not even parsed in DOMPurify's inert document, where
 *    Chromium would still report it as a CSP violation (nothing would run, but the report is
 *    noise a real attack must not be able to hide in).
 */
import { Marked, type TokenizerAndRendererExtension, type Tokens } from 'marked';
import { readTag, TAG_BOUNDARY, WIKI_AT_START } from './syntax.ts';

export interface RenderOptions {
  /** Target (any case) → note id, or null when no note has that title. Absent targets: unresolved. */
  readonly resolved?: ReadonlyMap<string, string | null>;
  /** Turn search matches `«…»` into <mark>. */
  readonly marks?: boolean;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

/** The app's address of a note and of the Forest list filtered by a tag (src/lib/router.svelte.ts). */
export const noteHref = (id: string): string => `#/forest/${encodeURIComponent(id)}`;
export const tagHref = (tag: string): string => `#/forest?tag=${encodeURIComponent(tag)}`;

/** Raw HTML tags a note may use, without attributes: `<kbd>`, `<sub>`, `<details>`… */
const BARE_TAGS = /^<\/?(?:kbd|sub|sup|mark|b|i|u|s|del|ins|em|strong|small|abbr|q|details|summary|br|hr|p|div|span|code|pre|blockquote|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|th|td|h[1-6])\s*\/?>$/i;

/** A raw HTML token as it may show (invariant 4): bare allowed tags kept, other tags as text, comments gone. */
export function rawHtml(text: string): string {
  return text
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '')
    .replace(/<\/?[A-Za-z][^<>]*>?|[^<]+|</g, (m) => (m.startsWith('<') ? (BARE_TAGS.test(m) ? m.toLowerCase() : escapeHtml(m)) : m.replace(/>/g, '&gt;')));
}

interface WikiToken extends Tokens.Generic { type: 'wikiLink'; target: string; label: string }
interface TagToken extends Tokens.Generic { type: 'noteTag'; tag: string; text: string }
interface MarkToken extends Tokens.Generic { type: 'searchMark'; text: string }

function extensions(o: RenderOptions): TokenizerAndRendererExtension[] {
  const byTarget = new Map([...(o.resolved ?? new Map<string, string | null>())].map(([k, v]) => [k.toLowerCase(), v]));
  const wiki: TokenizerAndRendererExtension = {
    name: 'wikiLink',
    level: 'inline',
    start: (src) => { const i = src.indexOf('[['); return i < 0 ? undefined : i; },
    tokenizer(src) {
      if (this.lexer.state.inLink) return undefined;
      const m = WIKI_AT_START.exec(src);
      if (!m || !m[1]!.trim()) return undefined;
      const target = m[1]!.trim();
      return { type: 'wikiLink', raw: m[0], target, label: (m[2] ?? '').trim() || target } satisfies WikiToken;
    },
    renderer(t) {
      const { target, label } = t as WikiToken;
      const id = byTarget.get(target.toLowerCase());
      if (id) return `<a href="${escapeHtml(noteHref(id))}" class="md-wiki" data-testid="wiki-link" data-target="${escapeHtml(target)}">${escapeHtml(label)}</a>`;
      const title = `No note is titled “${target}” yet: create one to link it.`;
      return `<span class="md-unresolved" data-testid="wiki-unresolved" data-target="${escapeHtml(target)}" title="${escapeHtml(title)}">${escapeHtml(label)}</span>`;
    },
  };
  const tag: TokenizerAndRendererExtension = {
    name: 'noteTag',
    level: 'inline',
    start(src) {
      // `src` starts one character into the text still to read: index 0 has an unknown character
      // before it (the tokenizer checks), later ones have theirs in `src`.
      for (let i = src.indexOf('#'); i !== -1; i = src.indexOf('#', i + 1)) {
        if ((i === 0 || TAG_BOUNDARY.test(src[i - 1]!)) && readTag(src.slice(i))) return i;
      }
      return undefined;
    },
    tokenizer(src, tokens) {
      if (this.lexer.state.inLink) return undefined;
      const prev = tokens.length > 0 ? tokens[tokens.length - 1]!.raw.slice(-1) : '';
      if (prev !== '' && !TAG_BOUNDARY.test(prev)) return undefined;
      const t = readTag(src);
      return t ? ({ type: 'noteTag', raw: t.raw, tag: t.tag, text: t.raw } satisfies TagToken) : undefined;
    },
    renderer(t) {
      const { tag: name, text } = t as TagToken;
      return `<a href="${escapeHtml(tagHref(name))}" class="md-tag" data-testid="tag-link" data-tag="${escapeHtml(name)}">${escapeHtml(text)}</a>`;
    },
  };
  const mark: TokenizerAndRendererExtension = {
    name: 'searchMark',
    level: 'inline',
    start: (src) => { const i = src.indexOf('«'); return i < 0 ? undefined : i; },
    tokenizer(src) {
      const m = /^«([^«»]*)»/.exec(src);
      return m ? ({ type: 'searchMark', raw: m[0], text: m[1]!, tokens: this.lexer.inlineTokens(m[1]!) } satisfies MarkToken) : undefined;
    },
    renderer(t) {
      return `<mark>${this.parser.parseInline((t as MarkToken).tokens ?? [])}</mark>`;
    },
  };
  return o.marks ? [wiki, tag, mark] : [wiki, tag];
}

/** Markdown (with wiki links, tags and, on request, search marks) → HTML, unsanitized. */
export function markdownToHtml(text: string, o: RenderOptions = {}): string {
  const md = new Marked({
    gfm: true,
    breaks: true,
    async: false,
    extensions: extensions(o),
    renderer: {
      checkbox: ({ checked }) => `<span class="md-task">${checked ? '☑' : '☐'}</span> `,
      html: ({ text }) => rawHtml(text),
    },
  });
  return md.parse(text, { async: false });
}

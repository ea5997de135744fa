/**
 * The note syntax the renderer adds to markdown, as the kernel reads it: `[[Target]]` /
 * `[[Target|label]]` wiki links (worker/domains/forest/mentions.ts) and `#tags`
 * (worker/domains/forest/tags.ts). The UI may not import worker code, so the grammar is repeated
 * here; test/unit/ui/markdown.test.ts holds the two together on a corpus.
 *
 * A tag: `#` then letters, marks, digits, `_`, `-`, `/`, with at least one letter, at most 64
 * characters, trailing `/` and `_` left out, lower-cased (NFC); the `#` starts the text or follows
 * whitespace, `*`, `_`, `~` or `|`.
 */

/** `[[Target]]` or `[[Target|label]]` at the start of the text. */
export const WIKI_AT_START = /^\[\[([^\]|\n]+)(?:\|([^\]\n]*))?\]\]/;
const WIKI_ANYWHERE = /\[\[([^\]|\n]+)(?:\|([^\]\n]*))?\]\]/g;

const TAG_RUN = /^[\p{L}\p{M}\p{N}_\-/]+/u;
/** What may come right before the `#` of a tag (the start of the text is fine too). */
export const TAG_BOUNDARY = /[\s*_~|]/u;
const MAX_TAG_CHARS = 64;

/** `#` + the rest of a tag at the start of `src` → its raw text and the tag as stored, or null. */
export function readTag(src: string): { raw: string; tag: string } | null {
  if (src[0] !== '#') return null;
  const run = TAG_RUN.exec(src.slice(1, 2 + MAX_TAG_CHARS * 2))?.[0].replace(/[/_]+$/, '');
  if (!run || !/\p{L}/u.test(run)) return null;
  const tag = run.normalize('NFC').toLowerCase();
  return tag.length > MAX_TAG_CHARS ? null : { raw: `#${run}`, tag };
}

/** The wiki-link targets of a text, each once (case-insensitive), trimmed. */
export function wikiTargets(text: string): string[] {
  const out = new Map<string, string>();
  for (const m of text.matchAll(WIKI_ANYWHERE)) {
    const t = m[1]!.trim();
    if (t && !out.has(t.toLowerCase())) out.set(t.toLowerCase(), t);
  }
  return [...out.values()];
}

/**
 * `[[` link completion in a note's body editor (src/pages/ForestBodyInput.svelte), as pure
 * functions: what is being typed after an open `[[`, the search for it, and the text once a title is
 * picked.
 *
 * Invariants:
 * 1. A completion is open only between `[[` and the caret on one line, with no `]` or `|` typed
 *    since: `]]` (or a label) ends it, as Obsidian does.
 * 2. Picking a title replaces the typed part with `[[Title]]` (eating a `]]` already after the
 *    caret) and puts the caret after it.
 * 3. Titles a wiki link cannot hold (with `]` or `|`) are never offered.
 */

export interface OpenLink {
  /** Index of the `[[`. */
  readonly start: number;
  /** What was typed after it, up to the caret. */
  readonly query: string;
}

const MAX_QUERY = 100;

/** The link being typed at `caret`, or null. */
export function openLink(text: string, caret: number): OpenLink | null {
  const before = text.slice(Math.max(0, caret - MAX_QUERY - 2), caret);
  const at = before.lastIndexOf('[[');
  if (at === -1) return null;
  const query = before.slice(at + 2);
  if (/[\]|\n]/.test(query)) return null;
  return { start: caret - before.length + at, query };
}

/** The text and caret after picking `title` for the open link. */
export function insertLink(text: string, open: OpenLink, caret: number, title: string): { text: string; caret: number } {
  const link = `[[${title}]]`;
  const rest = text.slice(caret).startsWith(']]') ? text.slice(caret + 2) : text.slice(caret);
  return { text: text.slice(0, open.start) + link + rest, caret: open.start + link.length };
}

/** A search query for titles starting like `typed` (its last word as a prefix); null when nothing usable. */
export function searchFor(typed: string): string | null {
  const words = typed.replace(/["*]/g, ' ').trim().split(/\s+/).filter((w) => /[\p{L}\p{N}]/u.test(w) && !w.startsWith('-'));
  if (words.length === 0) return null;
  return `${words.join(' ')}*`;
}

/**
 * Titles to offer, at most `max`: linkable ones whose title holds every typed word (any case),
 * those starting with what was typed first, then in the order given (the search's). Nothing typed:
 * the first `max` linkable ones.
 */
export function rankTitles<T extends { readonly title: string }>(items: readonly T[], typed: string, max = 8): T[] {
  const q = typed.trim().toLowerCase();
  const words = q.split(/\s+/).filter(Boolean);
  const ok = items.filter((i) => !/[\]|]/.test(i.title) && words.every((w) => i.title.toLowerCase().includes(w)));
  const score = (t: string) => (t.toLowerCase().startsWith(q) ? 0 : 1);
  return ok.map((item, i) => ({ item, i, s: score(item.title) })).sort((a, b) => a.s - b.s || a.i - b.i).slice(0, max).map((x) => x.item);
}

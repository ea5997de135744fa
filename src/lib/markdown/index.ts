/**
 * Everything the Markdown component loads lazily, in one chunk (marked + DOMPurify): render a
 * note's markdown into sanitized nodes. See render.ts (markdown and the note syntax) and
 * sanitize.ts (what may reach the page).
 */
import { markdownToHtml, type RenderOptions } from './render.ts';
import { sanitizeToFragment } from './sanitize.ts';

export type { RenderOptions } from './render.ts';
export { wikiTargets } from './syntax.ts';

/** Markdown → sanitized nodes for the page (never HTML text). */
export function renderMarkdown(text: string, o: RenderOptions = {}): DocumentFragment {
  // Trimmed: no stray newline text node after the last block (its text is exactly the note's).
  return sanitizeToFragment(markdownToHtml(text, o).trim());
}

/**
 * Everything the Markdown component loads lazily, in one chunk (marked + DOMPurify): render a
 * note's markdown into sanitized nodes. See render.ts (markdown and the note syntax) and
 * sanitize.ts (what may reach the page).
 */
import { markdownToHtml, type RenderOptions } from './render.ts';
import { sanitizeToFragment } from './sanitize.ts';

export type { RenderOptions } from './render.ts';
export { wikiTargets } from './syntax.ts';

/**
 * Markdown → sanitized nodes for the page (never HTML text). `linkless`: links become plain text
 * with their look (a list row's preview: the row's title is the one link, and a list of notes does
 * not fill the tab order with every link of every preview).
 */
export function renderMarkdown(text: string, o: RenderOptions & { readonly linkless?: boolean } = {}): DocumentFragment {
  // Trimmed: no stray newline text node after the last block (its text is exactly the note's).
  const frag = sanitizeToFragment(markdownToHtml(text, o).trim());
  if (o.linkless) {
    for (const a of [...frag.querySelectorAll('a')]) {
      const span = a.ownerDocument.createElement('span');
      span.className = a.className;
      for (const name of ['data-testid', 'data-target', 'data-tag']) if (a.hasAttribute(name)) span.setAttribute(name, a.getAttribute(name)!);
      span.append(...a.childNodes);
      a.replaceWith(span);
    }
  }
  return frag;
}

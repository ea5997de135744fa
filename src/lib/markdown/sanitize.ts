/**
 * The only way rendered markdown reaches a page: DOMPurify 3 with an allowlist, then a pass over the
 * sanitized (still inert) nodes. Browser only (DOMPurify needs a DOM).
 *
 * Invariants:
 * 1. Allowlist, not blocklist: only the tags and attributes below survive. No script, style,
 *    iframe, object, embed, form, input, button, svg or math (their contents go with them), no
 *    event handler, style, id or name attribute.
 * 2. URLs (href, src) must be http(s):, mailto: or an in-app `#…` address, after DOMPurify strips
 *    whitespace and decodes entities: javascript:, vbscript:, data: (as a link) and relative
 *    paths are dropped. An <img> may keep a data:image/png|gif|jpeg|webp source only.
 * 3. No remote image is ever loaded: the CSP allows img-src 'self' data: only, and a remote image
 *    is a tracking beacon. Every other <img> becomes a link (http/https) or plain text with its alt
 *    text — while the nodes are still in DOMPurify's inert document, where nothing loads.
 * 4. External links open in a new tab with rel="noopener noreferrer".
 * 5. Nothing is serialized and parsed again (no mutation-XSS round trip): the sanitized fragment
 *    itself is put in the page.
 */
import DOMPurify, { type Config } from 'dompurify';

export const ALLOWED_TAGS = [
  'a', 'abbr', 'b', 'blockquote', 'br', 'code', 'dd', 'del', 'details', 'div', 'dl', 'dt', 'em',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'ins', 'kbd', 'li', 'mark', 'ol', 'p', 'pre',
  'q', 's', 'samp', 'small', 'span', 'strong', 'sub', 'summary', 'sup', 'table', 'tbody', 'td',
  'tfoot', 'th', 'thead', 'tr', 'u', 'ul', 'var',
] as const;

/** Attributes that are not URLs (exempt from the URL check below). */
const PLAIN_ATTRS = ['title', 'alt', 'class', 'align', 'colspan', 'rowspan', 'start', 'open', 'data-target', 'data-tag', 'data-testid'];

export const ALLOWED_URL = /^(?:https?:|mailto:|#)/i;
const RASTER_DATA = /^data:image\/(?:png|gif|jpeg|webp);base64,[a-z0-9+/=\s]*$/i;
const HTTP = /^https?:\/\//i;

/** Classes and test ids the renderer writes (render.ts); anything else a note writes is dropped. */
const CLASSES = /^(?:md-wiki|md-unresolved|md-tag|md-task|md-image|language-[\w+#-]{1,40})$/;
const TEST_IDS = new Set(['wiki-link', 'wiki-unresolved', 'tag-link']);

export const PURIFY_CONFIG = {
  ALLOWED_TAGS: [...ALLOWED_TAGS],
  ALLOWED_ATTR: ['href', 'src', ...PLAIN_ATTRS],
  ADD_URI_SAFE_ATTR: PLAIN_ATTRS,
  ALLOWED_URI_REGEXP: ALLOWED_URL,
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  ALLOW_UNKNOWN_PROTOCOLS: false,
  SAFE_FOR_XML: true,
  RETURN_DOM_FRAGMENT: true,
} satisfies Config;

let purify: ReturnType<typeof DOMPurify> | null = null;

function instance(): ReturnType<typeof DOMPurify> {
  if (purify) return purify;
  const p = DOMPurify(window);
  p.addHook('uponSanitizeAttribute', (_node, data) => {
    if (data.attrName === 'class') {
      const kept = data.attrValue.split(/\s+/).filter((c) => CLASSES.test(c));
      if (kept.length === 0) data.keepAttr = false;
      else data.attrValue = kept.join(' ');
    } else if (data.attrName === 'data-testid' && !TEST_IDS.has(data.attrValue)) {
      data.keepAttr = false;
    }
  });
  purify = p;
  return p;
}

/** Remote and unknown images → a link or their alt text; external links → a new tab, no opener. */
function finish(root: DocumentFragment): void {
  for (const img of [...root.querySelectorAll('img')]) {
    const src = (img.getAttribute('src') ?? '').trim();
    if (RASTER_DATA.test(src)) continue;
    const doc = img.ownerDocument;
    const alt = img.getAttribute('alt')?.trim() || 'image';
    let out: HTMLElement;
    if (HTTP.test(src) && !img.closest('a')) {
      out = doc.createElement('a');
      out.setAttribute('href', src);
      out.setAttribute('title', `Image not loaded (remote images are never fetched): ${src}`);
      out.textContent = `🖼 ${alt}`;
    } else {
      out = doc.createElement('span');
      out.textContent = `🖼 ${alt}`;
    }
    out.className = 'md-image';
    img.replaceWith(out);
  }
  for (const a of root.querySelectorAll('a[href]')) {
    if (!HTTP.test(a.getAttribute('href') ?? '')) continue;
    a.setAttribute('target', '_blank');
    a.setAttribute('rel', 'noopener noreferrer');
  }
}

/** Sanitize HTML (from render.ts) into nodes safe to put in the page. */
export function sanitizeToFragment(html: string): DocumentFragment {
  const frag = instance().sanitize(html, PURIFY_CONFIG) as unknown as DocumentFragment;
  finish(frag);
  return frag;
}

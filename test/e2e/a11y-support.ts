/**
 * Accessibility checks for the e2e tests (a11y.test.ts, keyboard.test.ts):
 * - `runAxe`: axe-core from the npm package, its source evaluated through CDP (Runtime.evaluate),
 *   never an inline <script>: the app's strict CSP stays intact (the callers count violations).
 *   Every axe rule but the experimental ones runs; `blocking` keeps the serious and critical.
 * - `formatViolations`: a readable report (rule id, impact, help, the first target selectors).
 * - `focusRing`: whether the focused element shows a visible ring: a solid outline ≥ 2 px (on the
 *   element, or on its closest `.focus-ring-within` ancestor, for controls drawn by their wrapper)
 *   whose colour has ≥ 3:1 contrast with the background behind it.
 * - `tabSweep`: Tab through a page, recording each stop and its ring.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { REPO } from './support.ts';

const AXE_SOURCE = readFileSync(join(REPO, 'node_modules/axe-core/axe.min.js'), 'utf8');

export interface AxeNode { readonly target: string[]; readonly summary: string }
export interface AxeViolation { readonly id: string; readonly impact: string | null; readonly help: string; readonly helpUrl: string; readonly nodes: AxeNode[] }

export const BLOCKING = ['serious', 'critical'] as const;

/** Load axe into the page's main world (again after a reload) without touching the page's CSP. */
export async function injectAxe(page: Page): Promise<void> {
  if (await page.evaluate(() => typeof (window as unknown as { axe?: unknown }).axe === 'object')) return;
  const cdp = await page.context().newCDPSession(page);
  try {
    const r = await cdp.send('Runtime.evaluate', { expression: AXE_SOURCE, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`axe-core did not load: ${r.exceptionDetails.text} ${r.exceptionDetails.exception?.description ?? ''}`);
  } finally {
    await cdp.detach();
  }
}

/** Run axe on the whole document; every violation, any impact. */
export async function runAxe(page: Page): Promise<AxeViolation[]> {
  await injectAxe(page);
  return page.evaluate(async () => {
    type Raw = { id: string; impact?: string | null; help: string; helpUrl: string; nodes: { target: unknown[]; failureSummary?: string }[] };
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Raw[] }> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'], iframes: false });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({ target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))), summary: (n.failureSummary ?? '').replace(/\s+/g, ' ').slice(0, 240) })),
    }));
  });
}

export function blocking(violations: readonly AxeViolation[]): AxeViolation[] {
  return violations.filter((v) => (BLOCKING as readonly string[]).includes(v.impact ?? ''));
}

/** "rule (impact): help — N nodes: sel, sel, sel" per violation, with the first failure summary. */
export function formatViolations(where: string, violations: readonly AxeViolation[], maxTargets = 4): string {
  return violations.map((v) => {
    const targets = v.nodes.slice(0, maxTargets).map((n) => n.target.join(' ')).join(' | ');
    const more = v.nodes.length > maxTargets ? ` (+${v.nodes.length - maxTargets} more)` : '';
    return `${where}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.length} node(s): ${targets}${more}\n    ${v.nodes[0]?.summary ?? ''}\n    ${v.helpUrl}`;
  }).join('\n');
}

export interface Ring {
  /** A short description of the focused element (tag, testid, name). */
  readonly what: string;
  readonly testid: string | null;
  readonly visible: boolean;
  /** outline style/width/colour seen, and the contrast of the colour against the background. */
  readonly detail: string;
  readonly inMain: boolean;
  readonly inDrawer: boolean;
  /** Inside the YAML editor, where Tab indents (Esc then Tab leaves it). */
  readonly editor: boolean;
}

/**
 * The page side of `focusRing`, as plain JavaScript: tsx would wrap named functions written in
 * TypeScript with a `__name` helper the page does not have.
 */
const FOCUS_RING_JS = `(() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  function parse(c) {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[\\s,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p[3] === undefined ? 1 : p[3]];
  }
  function lum(c) {
    const f = (v) => { const s = v / 255; return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  }
  function backdrop(e) {
    for (let n = e; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c[3] >= 0.99) return c.slice(0, 3);
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? [0, 0, 0] : [255, 255, 255];
  }
  function ringOf(e) {
    const s = getComputedStyle(e);
    const width = parseFloat(s.outlineWidth);
    const colour = parse(s.outlineColor);
    if (s.outlineStyle === 'none' || width < 2 || colour[3] < 0.99) {
      return { ok: false, detail: 'outline ' + s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor + '; box-shadow ' + s.boxShadow };
    }
    const bg = backdrop(e.parentElement || e);
    const l = [lum(colour), lum(bg)].sort((x, y) => y - x);
    const ratio = (l[0] + 0.05) / (l[1] + 0.05);
    return { ok: ratio >= 3, detail: 'outline ' + s.outlineStyle + ' ' + s.outlineWidth + ' ' + s.outlineColor + ' on rgb(' + bg.join(',') + ') = ' + ratio.toFixed(2) + ':1' };
  }
  let ring = ringOf(el);
  const holder = el.closest('.focus-ring-within');
  if (!ring.ok && holder) ring = ringOf(holder);
  const name = (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
  return {
    what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + name + '"',
    testid: el.getAttribute('data-testid'),
    visible: ring.ok,
    detail: ring.detail,
    inMain: el.closest('main') !== null,
    inDrawer: el.closest('[data-testid="nav-drawer"]') !== null,
    editor: el.closest('.cm-editor') !== null,
  };
})()`;

/**
 * The focused element and its focus ring: a solid outline ≥ 2 px whose colour has ≥ 3:1 contrast
 * with the background around it, on the element or on its closest `.focus-ring-within` ancestor.
 * Null when nothing but <body> has focus.
 */
export async function focusRing(page: Page): Promise<Ring | null> {
  return page.evaluate(FOCUS_RING_JS) as Promise<Ring | null>;
}

/** Move the keyboard's starting point to the top of the document: the next Tab goes to its first control. */
export async function focusDocumentStart(page: Page): Promise<void> {
  await page.evaluate(() => {
    window.scrollTo(0, 0);
    document.body.tabIndex = -1;
    document.body.focus();
    document.body.removeAttribute('tabindex');
  });
}

/**
 * Press Tab from the top of the page until focus comes back to an element seen first (or `max`
 * stops); returns every stop with its ring. Focus starts at the document (before the skip link).
 */
export async function tabSweep(page: Page, max = 160, onStop?: (r: Ring) => Promise<void>): Promise<Ring[]> {
  await focusDocumentStart(page);
  const stops: Ring[] = [];
  let first: string | null = null;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const r = await focusRing(page);
    if (!r) continue;
    const key = `${r.what} ${r.testid}`;
    if (first === null) first = key;
    else if (key === first) break;
    stops.push(r);
    await onStop?.(r);
    if (r.editor) await page.keyboard.press('Escape');
  }
  return stops;
}

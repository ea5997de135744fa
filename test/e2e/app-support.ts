/**
 * What the app tests run against. By default the built app (dist/, served with its CSP header);
 * `KINGDOM_E2E_TARGET=harness` points the dev-hook-only tests (window.kingdomDevHook) at the UI-less kernel harness
 * (test/e2e/pages/kernel.html) instead, which runs the very same kernel worker: useful to tell a
 * runtime bug from a UI bug. UI assertions are skipped on the harness.
 */
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { serveStatic, type StaticServer } from '../helpers/static-server.ts';
import { Cleanup, ensureAppBuild, ensurePagesBuild, FALLBACK_CSP } from './support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage } from './pages/kingdom-api.ts';

export interface Target {
  readonly name: 'app' | 'harness';
  /** Served directory. */
  readonly root: string;
  /** Path of the page that installs window.kingdomDevHook. */
  readonly entry: string;
  /** The page has the Svelte UI (data-testids). */
  readonly ui: boolean;
}

/** The policy the app ships (src/lib/csp.ts), or the documented fallback before it existed. */
export async function appCsp(): Promise<string> {
  try {
    const mod = (await import('../../src/lib/csp.ts')) as { CSP_HEADER?: string };
    if (typeof mod.CSP_HEADER === 'string' && mod.CSP_HEADER.length > 0) return mod.CSP_HEADER;
  } catch {
    // not written yet
  }
  return FALLBACK_CSP;
}

export function target(): Target {
  if (process.env['KINGDOM_E2E_TARGET'] === 'harness') {
    return { name: 'harness', root: ensurePagesBuild(), entry: '/kernel.html', ui: false };
  }
  return { name: 'app', root: ensureAppBuild(), entry: '/', ui: true };
}

export async function serveTarget(t: Target, cleanup: Cleanup, port?: number): Promise<StaticServer> {
  const server = await serveStatic(t.root, { headers: { 'content-security-policy': await appCsp() }, ...(port ? { port } : {}) });
  cleanup.add(`static server ${server.url}`, () => server.close());
  return server;
}

/** The built app (dist/) served with its CSP on 127.0.0.1, closed by `cleanup`. */
export function serveApp(cleanup: Cleanup): Promise<StaticServer> {
  return serveTarget({ name: 'app', root: ensureAppBuild(), entry: '/', ui: true }, cleanup);
}

export async function launch(cleanup: Cleanup, profileDir: string): Promise<BrowserContext> {
  const { context } = await launchChromium(profileDir);
  cleanup.add(`chromium ${profileDir}`, () => context.close());
  return context;
}

/**
 * Console errors, page errors and CSP violations of a page (and its workers, whose console
 * messages Playwright reports on the page). Install before the first navigation.
 */
export class PageProblems {
  readonly errors: string[] = [];

  static async watch(page: Page): Promise<PageProblems> {
    const p = new PageProblems();
    page.on('console', (m) => {
      if (m.type() === 'error') p.errors.push(`console.error${m.worker() ? ' (worker)' : ''}: ${m.text()}`);
    });
    page.on('pageerror', (e) => p.errors.push(`pageerror: ${e.message}`));
    page.on('crash', () => p.errors.push('page crashed'));
    return p;
  }
}

/** Record every securitypolicyviolation of the page's documents in `window.__cspViolations`. */
export async function recordCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    const w = window as unknown as { __cspViolations: string[] };
    w.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      w.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber} sample=${e.sample}`);
    });
  });
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? ['(recorder missing)']);
}

export interface OpenedApp {
  readonly server: StaticServer;
  readonly page: Page;
  readonly ui: AppPage;
  readonly api: KingdomApiPage;
  readonly problems: PageProblems;
}

/**
 * The built app served with its CSP, in a fresh Chromium profile with CSP violations and console
 * problems recorded, opened at `hash`, its kernel ready on OPFS (asserted).
 */
export async function openBuiltApp(cleanup: Cleanup, name: string, hash: string, uiMs: number): Promise<OpenedApp> {
  const server = await serveApp(cleanup);
  const context = await launch(cleanup, cleanup.tempDir(`kingdom-e2e-${name}-`));
  await recordCspViolations(context);
  const page = await context.newPage();
  const problems = await PageProblems.watch(page);
  await page.goto(`${server.url}/${hash}`);
  const ui = new AppPage(page, uiMs);
  const api = new KingdomApiPage(page);
  const info = await api.ready();
  await ui.waitReady();
  assert.equal(info.storage, 'opfs', 'durable storage');
  return { server, page, ui, api, problems };
}

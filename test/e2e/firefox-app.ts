/**
 * One Firefox tab on the built app, for the Firefox e2e files (firefox.test.ts,
 * firefox-sync.test.ts): bounded waits, the dev hook (`window.kingdomDevHook`), console and page
 * errors, and a securitypolicyviolation recorder installed before the app's scripts run.
 */
import type { Page } from 'puppeteer-core';
import type { LaunchedFirefox } from '../helpers/firefox.ts';
import type { CommandInput, KernelStatus, KingdomApi, Result, RuntimeInfo, VerifyReport, Workspace } from '../../worker/api.ts';

export type Win = Window & { kingdomDevHook?: { api: KingdomApi; ready: Promise<unknown> }; __cspViolations?: string[] };
export const sel = (id: string, extra = ''): string => `[data-testid="${id}"]${extra}`;

/** One Firefox tab on the app: bounded waits, the dev hook, and what went wrong in it. */
export class FirefoxApp {
  readonly problems: string[] = [];

  private constructor(readonly page: Page, readonly uiMs: number) {}

  /** A new tab with its problems recorded and a securitypolicyviolation recorder in every document. */
  static async open(ff: LaunchedFirefox, url: string, opts: { offline?: boolean; uiMs?: number } = {}): Promise<FirefoxApp> {
    const page = await ff.browser.newPage();
    const uiMs = opts.uiMs ?? 20_000;
    page.setDefaultTimeout(uiMs);
    page.setDefaultNavigationTimeout(uiMs);
    const app = new FirefoxApp(page, uiMs);
    page.on('console', (m) => {
      if (m.type() === 'error') app.problems.push(`console.error: ${m.text()}`);
    });
    // Over BiDi, Firefox also reports a document's CSP violations as page errors (not a worker's);
    // a worker's console errors and uncaught errors come here too.
    page.on('pageerror', (e) => app.problems.push(`pageerror: ${e instanceof Error ? e.message : String(e)}`));
    await page.evaluateOnNewDocument(() => {
      const w = window as unknown as { __cspViolations: string[] };
      w.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        w.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`);
      });
    });
    if (opts.offline) await page.setOfflineMode(true);
    await page.goto(url);
    await app.ready();
    return app;
  }

  /** The dev hook answered `info()` and the shell rendered (the header's storage chip shows after `info()`). */
  async ready(): Promise<RuntimeInfo> {
    await this.page.waitForFunction(() => typeof (window as unknown as Win).kingdomDevHook?.ready === 'object', { timeout: this.uiMs });
    const info = await this.page.evaluate(async (ms) => {
      const hook = (window as unknown as Win).kingdomDevHook!;
      const late = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`kingdomDevHook.ready/info() did not settle within ${ms} ms`)), ms));
      await Promise.race([hook.ready, late]);
      return Promise.race([hook.api.info(), late]);
    }, this.uiMs);
    await this.page.waitForSelector(sel('storage-kind'), { visible: true });
    return info;
  }

  async reload(): Promise<RuntimeInfo> {
    await this.page.reload();
    return this.ready();
  }

  /** Change the hash route (a same-document navigation) and wait for `until`. */
  async route(hash: string, until: string): Promise<void> {
    await this.page.evaluate((h) => { location.hash = h; }, hash);
    await this.page.waitForSelector(until, { visible: true });
  }

  async query<T>(name: string, params: unknown = {}): Promise<T> {
    const r = await this.page.evaluate((n, p) => (window as unknown as Win).kingdomDevHook!.api.query(n, p), name, params);
    return unwrap(r as Result<T>, name);
  }

  async command<T>(cmd: CommandInput): Promise<T> {
    const r = await this.page.evaluate((c) => (window as unknown as Win).kingdomDevHook!.api.command(c), cmd);
    return unwrap(r, cmd.type).value as T;
  }

  async commandBatch(cmds: CommandInput[]): Promise<number> {
    const r = await this.page.evaluate((c) => (window as unknown as Win).kingdomDevHook!.api.commandBatch(c), cmds);
    return unwrap(r, 'commandBatch').length;
  }

  async status(): Promise<KernelStatus> {
    return unwrap(await this.page.evaluate(() => (window as unknown as Win).kingdomDevHook!.api.status()), 'status');
  }

  async verify(): Promise<VerifyReport> {
    return unwrap(await this.page.evaluate(() => (window as unknown as Win).kingdomDevHook!.api.verify()), 'verify');
  }

  async workflowNames(): Promise<string[]> {
    return (await this.query<{ name: string }[]>('workflow.list')).map((w) => w.name).sort();
  }

  async workspaceNames(): Promise<string[]> {
    return (await this.query<Workspace[]>('workspace.list', { includeArchived: true })).filter((w) => !w.isDefault).map((w) => w.name).sort();
  }

  async createWorkspace(name: string, key = `ws:${name}`): Promise<string> {
    return (await this.command<{ workspaceId: string }>({ type: 'workspace.create', payload: { name }, idempotencyKey: key })).workspaceId;
  }

  async text(selector: string): Promise<string> {
    const el = await this.page.waitForSelector(selector, { visible: true });
    return (await el!.evaluate((e) => e.textContent)) ?? '';
  }

  /** Alerts and banners on screen: a fatal screen, error messages, the storage fallback banner. */
  alerts(): Promise<string[]> {
    return this.page.evaluate(() =>
      [...document.querySelectorAll('[role="alert"], [data-testid="storage-banner"], main.fatal')].map((e) => (e.textContent ?? '').trim().slice(0, 200)));
  }

  cspEvents(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as Win).__cspViolations ?? ['(recorder missing)']);
  }
}

export function unwrap<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what} failed: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

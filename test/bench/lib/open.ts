/**
 * `open`: how fast the built app opens in Chromium (issue 14, point 9), against a trivial static
 * page served by the same server in the same run (docs/benchmarks.md, "Fast to open").
 *
 * 1. Builds the real app with scripts/bundle-size.ts (the project's vite.config.ts; into
 *    .tmp/bench-open, never dist/), which also gives `open.size`: the first screen's JavaScript,
 *    gzipped, against its budget.
 * 2. Adds the baseline under /baseline/: an HTML page, a module script that sets the same mark in
 *    the first task after its first frame, and a service worker that caches the three files (so it
 *    reopens offline like the app does).
 * 3. Serves both from one static server on 127.0.0.1 with the app's CSP header.
 * 4. Per repetition, app and baseline alternately, each in a FRESH Chromium profile (no HTTP
 *    cache, no service worker, no OPFS): navigate, wait for `performance.mark('kingdom:interactive')`
 *    (src/lib/interactive.ts), take its startTime (ms since navigation start) = `open.cold`; wait
 *    until the service worker is active, close the tab, turn the network off, open a new tab on the
 *    same address and take its mark again = `open.offline` (service worker + OPFS; the closed tab
 *    released the database first, so the new tab is the owner, not a follower).
 * Figures are medians; the JSON keeps every sample and the JavaScript files each cold open fetched.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { figure, type Figure } from './scenarios.ts';
import { median } from './stats.ts';

export const OPEN_TARGETS = { coldMs: 1500, offlineMs: 1000 } as const;
const MARK = 'kingdom:interactive';
const WAIT_MS = 60_000;

const BASELINE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="UTF-8" /><title>Baseline</title></head>
<body><h1>Baseline</h1><p>A trivial static page.</p><script type="module" src="./main.js"></script></body></html>
`;
const BASELINE_JS = `navigator.serviceWorker?.register('./sw.js');
requestAnimationFrame(() => setTimeout(() => performance.mark('${MARK}'), 0));
`;
const BASELINE_SW = `const FILES = ['./', './index.html', './main.js'];
self.addEventListener('install', (e) => e.waitUntil(caches.open('baseline').then((c) => c.addAll(FILES)).then(() => self.skipWaiting())));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => e.respondWith(caches.match(e.request, { ignoreSearch: true }).then((r) => r || fetch(e.request))));
`;

/**
 * Test-only: marks `bench:kernel-ready` when the app's dev hook (window.kingdomDevHook, docs/api.md)
 * resolves `ready` (the worker answered info()), to split the time into kernel and screen.
 */
const READY_HOOK = `(() => {
  let hook;
  Object.defineProperty(window, 'kingdomDevHook', { configurable: true, get: () => hook,
    set: (v) => { hook = v; v?.ready?.then(() => performance.mark('bench:kernel-ready'), () => {}); } });
})();`;

export interface OpenResult {
  readonly figures: Figure[];
  readonly summary: string[];
}

export async function benchOpen(root: string, quick: boolean, log: (m: string) => void): Promise<OpenResult> {
  const { measureBundle } = await import('../../../scripts/bundle-size.ts');
  const { FIRST_SCREEN_BUDGET_GZ, formatReport } = await import('../../../scripts/bundle-graph.ts');
  const { serveStatic } = await import('../../helpers/static-server.ts');
  const { launchChromium } = await import('../../helpers/chromium.ts');
  const { CSP_HEADER } = await import('../../../src/lib/csp.ts');
  const outDir = join(root, '.tmp/bench-open');
  log('open: building the app (scripts/bundle-size.ts)');
  const m = await measureBundle({ outDir, log });
  const baselineDir = join(outDir, 'baseline');
  mkdirSync(baselineDir, { recursive: true });
  writeFileSync(join(baselineDir, 'index.html'), BASELINE_HTML);
  writeFileSync(join(baselineDir, 'main.js'), BASELINE_JS);
  writeFileSync(join(baselineDir, 'sw.js'), BASELINE_SW);
  const server = await serveStatic(outDir, { headers: { 'Content-Security-Policy': CSP_HEADER } });
  const reps = quick ? 2 : 7;
  const samples = { app: { cold: [] as number[], offline: [] as number[] }, baseline: { cold: [] as number[], offline: [] as number[] } };
  const ready = { cold: [] as number[], offline: [] as number[], bootMs: [] as number[] };
  const jsFetched: string[][] = [];
  try {
    for (let i = 0; i < reps; i++) {
      for (const which of ['app', 'baseline'] as const) {
        const url = which === 'app' ? `${server.url}/` : `${server.url}/baseline/`;
        const r = await openTwice(url, which === 'app', launchChromium, log);
        samples[which].cold.push(r.cold);
        samples[which].offline.push(r.offline);
        if (which === 'app') {
          jsFetched.push(r.js);
          ready.cold.push(r.ready.cold);
          ready.offline.push(r.ready.offline);
          ready.bootMs.push(r.ready.bootMs);
        }
        log(`open: ${which} #${i + 1}: cold ${r.cold.toFixed(0)} ms, offline reopen ${r.offline.toFixed(0)} ms`);
      }
    }
  } finally {
    await server.close();
  }
  const jsBytes = jsFetched[0]?.reduce((n, f) => n + readFileSync(join(outDir, f)).length, 0) ?? 0;
  const extra = {
    reps, jsFilesFetchedCold: jsFetched[0] ?? [], jsRawBytesFetchedCold: jsBytes, screen: m.report.screenModule,
    kernelReadyMs: ready.cold, kernelReadyMedianMs: median(ready.cold), kernelOpenMs: ready.bootMs,
  };
  const figures = [
    figure({
      id: 'open.size', storage: 'chromium', title: 'first-screen JavaScript, gzipped (page + kernel worker; scripts/bundle-size.ts)', unit: 'kB',
      kernel: m.report.totalGz / 1000, baseline: FIRST_SCREEN_BUDGET_GZ / 1000, baselineName: 'budget',
      target: { on: 'kernel', op: '<=', value: FIRST_SCREEN_BUDGET_GZ / 1000 },
      samples: { kernel: [m.report.totalGz / 1000], baseline: [FIRST_SCREEN_BUDGET_GZ / 1000] },
      extra: { pageGz: m.report.pageGz, workerGz: m.report.workerGz, wasmGz: m.report.wasmGz, byRoute: m.byRoute },
    }),
    figure({
      id: 'open.cold', storage: 'chromium', title: 'cold open (fresh profile) → interactive', unit: 'ms',
      kernel: median(samples.app.cold), baseline: median(samples.baseline.cold), baselineName: 'trivial static page, cold',
      target: { on: 'kernel', op: '<=', value: OPEN_TARGETS.coldMs }, samples: { kernel: samples.app.cold, baseline: samples.baseline.cold }, extra,
    }),
    figure({
      id: 'open.offline', storage: 'chromium', title: 'reopen offline (service worker + OPFS) → interactive', unit: 'ms',
      kernel: median(samples.app.offline), baseline: median(samples.baseline.offline), baselineName: 'trivial static page, offline via its service worker',
      target: { on: 'kernel', op: '<=', value: OPEN_TARGETS.offlineMs }, samples: { kernel: samples.app.offline, baseline: samples.baseline.offline },
      extra: { kernelReadyMs: ready.offline, kernelReadyMedianMs: median(ready.offline) },
    }),
  ];
  const summary = [
    ...formatReport(m.report, { packages: 12 }).split('\n'),
    `cold open fetched ${jsFetched[0]?.length ?? 0} JavaScript files, ${(jsBytes / 1000).toFixed(1)} kB raw (the service worker's precache included)`,
    `kernel ready (worker answered info()) at median ${median(ready.cold).toFixed(0)} ms cold (Kernel.open ${median(ready.bootMs).toFixed(0)} ms of it), ${median(ready.offline).toFixed(0)} ms offline`,
  ];
  rmSync(outDir, { recursive: true, force: true });
  return { figures, summary };
}

async function openTwice(
  url: string, app: boolean, launch: () => Promise<{ context: BrowserContext; userDataDir: string }>, log: (m: string) => void,
): Promise<{ cold: number; offline: number; js: string[]; ready: { cold: number; offline: number; bootMs: number } }> {
  const { context, userDataDir } = await launch();
  await context.addInitScript(READY_HOOK);
  const js = new Set<string>();
  context.on('response', (res) => {
    const u = new URL(res.url());
    if (u.pathname.endsWith('.js') && !u.pathname.endsWith('/sw.js')) js.add(u.pathname.replace(/^\//, ''));
  });
  try {
    const first = context.pages()[0] ?? (await context.newPage());
    first.on('pageerror', (e) => log(`open: page error: ${e.message}`));
    await first.goto(url);
    const cold = await interactiveAt(first);
    const fetched = [...js];
    const readyCold = app ? await markAt(first, 'bench:kernel-ready') : Number.NaN;
    const bootMs = !app ? Number.NaN : await first.evaluate(async () => {
      const hook = (window as { kingdomDevHook?: { api: { status(): Promise<{ ok: boolean; value?: { bootMs: number } }> } } }).kingdomDevHook;
      const st = hook ? await hook.api.status() : null;
      return st?.ok ? st.value!.bootMs : Number.NaN;
    });
    // The service worker has precached everything once it is active.
    await first.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
    await first.close();
    await context.setOffline(true);
    const second = await context.newPage();
    await second.goto(url);
    const offline = await interactiveAt(second);
    return { cold, offline, js: fetched, ready: { cold: readyCold, offline: app ? await markAt(second, 'bench:kernel-ready') : Number.NaN, bootMs } };
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

/** The interactive mark's time since navigation start, once it is set. */
function interactiveAt(page: Page): Promise<number> {
  return markAt(page, MARK);
}

async function markAt(page: Page, mark: string): Promise<number> {
  await page.waitForFunction((m) => performance.getEntriesByName(m).length > 0, mark, { timeout: WAIT_MS, polling: 50 });
  return page.evaluate((m) => performance.getEntriesByName(m)[0]!.startTime, mark);
}

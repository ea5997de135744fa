/**
 * Shared plumbing for the e2e tests: build freshness, bounded polling, and resource tracking so
 * every browser, server and temp directory is closed in `after` hooks even when a test fails.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DIST = join(REPO, 'dist');
export const PAGES_OUT = join(REPO, '.tmp/e2e-pages');

/** Used until the UI exports its policy (see appCsp() in app-support.ts). */
export const FALLBACK_CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:";

function newestMtime(path: string, depth = 0): number {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  if (depth > 12) return s.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry), depth + 1));
  }
  return newest;
}

/**
 * scripts/e2e.sh builds once before the tests and sets KINGDOM_E2E_BUILT=1: then an existing build
 * is used as is, so a source edited during the run (by someone else) never triggers a rebuild
 * under a running test. Run alone, a test file rebuilds when any source is newer than the build.
 */
function buildIsFresh(outDir: string, marker: string, sources: string[]): boolean {
  const out = join(outDir, marker);
  if (!existsSync(out)) return false;
  if (process.env['KINGDOM_E2E_BUILT'] === '1') return true;
  const built = statSync(out).mtimeMs;
  return sources.every((s) => newestMtime(join(REPO, s)) <= built);
}

function viteBuild(args: string[]): void {
  execFileSync('npx', ['vite', 'build', ...args], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'], timeout: 240_000 });
}

/** dist/ of the app, built unless a build newer than every source exists (scripts/e2e.sh builds first). */
export function ensureAppBuild(): string {
  if (!existsSync(join(REPO, 'index.html'))) {
    throw new Error('The app has no index.html yet (the UI is not there): cannot build dist/.');
  }
  const sources = ['index.html', 'src', 'worker', 'public', 'vite.config.ts', 'package.json'];
  if (!buildIsFresh(DIST, 'index.html', sources)) viteBuild([]);
  return DIST;
}

/** .tmp/e2e-pages: the test pages (contract, kernel harness). */
export function ensurePagesBuild(): string {
  const sources = ['test/e2e/pages', 'test/contract', 'worker', 'test/e2e/vite.pages.config.ts', 'package.json'];
  if (!buildIsFresh(PAGES_OUT, 'contract.html', sources)) viteBuild(['--config', 'test/e2e/vite.pages.config.ts']);
  return PAGES_OUT;
}

export function appExists(): boolean {
  return existsSync(join(REPO, 'index.html')) && existsSync(join(REPO, 'src'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Call `fn` every `intervalMs` until it returns a truthy value; throws after `timeoutMs` with the
 * last value seen. Bounded by construction: no test waits forever.
 */
export async function pollUntil<T>(
  fn: () => T | Promise<T>,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<NonNullable<T>> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  let lastErr: unknown;
  for (;;) {
    try {
      last = await fn();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const why = lastErr instanceof Error ? `; last error: ${lastErr.message}` : '';
      throw new Error(`Timed out after ${opts.timeoutMs} ms waiting for ${opts.what} (last value: ${JSON.stringify(last)}${why})`);
    }
    await sleep(opts.intervalMs ?? 50);
  }
}

/** Collects cleanups; `run()` calls them all in reverse order and never throws. */
export class Cleanup {
  private readonly fns: { what: string; fn: () => unknown }[] = [];

  add(what: string, fn: () => unknown): void {
    this.fns.push({ what, fn });
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.add(`rm ${dir}`, () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 }));
    return dir;
  }

  async run(): Promise<void> {
    while (this.fns.length > 0) {
      const { what, fn } = this.fns.pop()!;
      try {
        await withTimeout(Promise.resolve().then(fn), 15_000, what);
      } catch (err) {
        console.error(`cleanup "${what}" failed:`, err);
      }
    }
  }
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

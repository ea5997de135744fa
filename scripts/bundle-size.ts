/**
 * How much JavaScript the first screen loads (issue 14, point 9: ≤ 250 kB gzipped).
 *
 *   npx tsx scripts/bundle-size.ts [--screen=src/pages/WorkflowsPage.svelte] [--packages=40] [--json]
 *
 * Builds the app with the project's own vite.config.ts into .tmp/bundle-size (never dist/), with
 * hidden sourcemaps (the code is the same as `vite build`'s, only the .map files are added) and a
 * plugin that records the chunk graph of the page build and of the kernel worker's build. Then
 * prints every first-screen chunk gzipped (level 9), the total against the budget, the lazy
 * chunks, and the kernel worker's first-screen code by package from its sourcemaps. The
 * definitions are in scripts/bundle-graph.ts; test/e2e/bundle-size.test.ts is the guard.
 *
 * Invariants:
 * 1. The measured build is the real one: same config file, plugins and minifier; only outDir,
 *    the manifest-free chunk recorder and hidden sourcemaps differ.
 * 2. One build per process (the config's plugin instances are used once).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin, UserConfig } from 'vite';
import {
  attributeBySource,
  firstScreen,
  formatReport,
  gzSize,
  packageShares,
  type BuildGraph,
  type BundleReport,
  type ChunkNode,
  type SizedChunk,
} from './bundle-graph.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The page module of each route (src/App.svelte loads each lazily); the default route is the first screen. */
export const ROUTE_PAGES: Readonly<Record<string, string>> = {
  start: 'src/pages/StartPage.svelte',
  workspaces: 'src/pages/WorkspacesPage.svelte',
  workflows: 'src/pages/WorkflowsPage.svelte',
  inbox: 'src/pages/InboxPage.svelte',
  sessions: 'src/pages/SessionsPage.svelte',
  session: 'src/pages/SessionPage.svelte',
  forest: 'src/pages/ForestPage.svelte',
  events: 'src/pages/EventLogPage.svelte',
  integrity: 'src/pages/IntegrityPage.svelte',
  devices: 'src/pages/DevicesPage.svelte',
  storage: 'src/pages/StoragePage.svelte',
  settings: 'src/pages/SettingsPage.svelte',
  contracts: 'src/pages/ContractsPage.svelte',
  manifests: 'src/pages/ManifestsPage.svelte',
  realms: 'src/pages/RealmsPage.svelte',
};

/** The default route's id, read from src/lib/router.svelte.ts (it uses runes: not importable in Node). */
export function defaultRoute(): string {
  const src = readFileSync(join(ROOT, 'src/lib/router.svelte.ts'), 'utf8');
  const m = /export const DEFAULT_ROUTE: RouteId = (?:'([\w-]+)'|([A-Z_]+));/.exec(src);
  if (!m) throw new Error('bundle-size: DEFAULT_ROUTE not found in src/lib/router.svelte.ts');
  if (m[1] !== undefined) return m[1];
  // A named constant (`START_ROUTE`): its value.
  const c = new RegExp(`export const ${m[2]} = '([\\w-]+)'`).exec(src);
  if (!c) throw new Error(`bundle-size: ${m[2]} not found in src/lib/router.svelte.ts`);
  return c[1]!;
}

function recorder(part: keyof BuildGraph, graph: { page: ChunkNode[]; worker: ChunkNode[] }): Plugin {
  return {
    name: `kingdom:bundle-size-${part}`,
    generateBundle(_options, bundle) {
      for (const c of Object.values(bundle)) {
        if (c.type !== 'chunk') continue;
        graph[part].push({
          fileName: c.fileName,
          facade: c.facadeModuleId ? relative(ROOT, c.facadeModuleId).replace(/\\/g, '/') : null,
          isEntry: c.isEntry,
          imports: [...c.imports],
          dynamicImports: [...c.dynamicImports],
          modules: c.moduleIds.map((id) => relative(ROOT, id).replace(/\\/g, '/')),
        });
      }
    },
  };
}

export interface MeasureOptions {
  /** Repository-relative page module of the first screen; default: the default route's page. */
  readonly screen?: string;
  readonly outDir?: string;
  readonly log?: (m: string) => void;
}

export interface Measurement {
  readonly report: BundleReport;
  readonly graph: BuildGraph;
  /** The page-part gz total with each route's page as the first screen (a deep link). */
  readonly byRoute: Readonly<Record<string, number>>;
}

/** Build into `outDir` and measure. About 20 s on the 2-core machine. */
export async function measureBundle(o: MeasureOptions = {}): Promise<Measurement> {
  const outDir = o.outDir ?? join(ROOT, '.tmp/bundle-size');
  const log = o.log ?? (() => {});
  rmSync(outDir, { recursive: true, force: true });
  const graph = { page: [] as ChunkNode[], worker: [] as ChunkNode[] };
  const { build } = await import('vite');
  const config = (await import('../vite.config.ts')).default as UserConfig;
  const workerPlugins = config.worker?.plugins;
  log(`bundle-size: building into ${relative(ROOT, outDir)}`);
  await build({
    ...config,
    root: ROOT,
    configFile: false,
    logLevel: 'warn',
    plugins: [...(config.plugins ?? []), recorder('page', graph)],
    worker: { ...config.worker, plugins: () => [...(workerPlugins ? workerPlugins() : []), recorder('worker', graph)] },
    build: { ...config.build, outDir, emptyOutDir: true, sourcemap: 'hidden', reportCompressedSize: false },
  });
  const screen = o.screen ?? ROUTE_PAGES[defaultRoute()] ?? null;
  const report = sizeReport(graph, outDir, screen);
  const byRoute: Record<string, number> = {};
  for (const [route, mod] of Object.entries(ROUTE_PAGES)) byRoute[route] = sizeReport(graph, outDir, mod).pageGz;
  return { report, graph, byRoute };
}

const sizeCache = new Map<string, { raw: number; gz: number }>();

function sizeOf(outDir: string, fileName: string): { raw: number; gz: number } {
  const path = join(outDir, fileName);
  let s = sizeCache.get(path);
  if (!s) {
    const bytes = readFileSync(path);
    s = { raw: bytes.length, gz: gzSize(bytes) };
    sizeCache.set(path, s);
  }
  return s;
}

function sizeReport(graph: BuildGraph, outDir: string, screen: string | null): BundleReport {
  const fs = firstScreen(graph, screen);
  const chunks: SizedChunk[] = [
    ...fs.page.map((c) => ({ ...c, part: 'page' as const, ...sizeOf(outDir, c.fileName) })),
    ...fs.worker.map((c) => ({ ...c, part: 'worker' as const, ...sizeOf(outDir, c.fileName) })),
  ];
  const inFirst = new Set(chunks.map((c) => c.fileName));
  const lazy: SizedChunk[] = [];
  for (const [part, list] of [['page', graph.page], ['worker', graph.worker]] as const) {
    for (const c of list) if (!inFirst.has(c.fileName)) lazy.push({ fileName: c.fileName, part, role: 'static', ...sizeOf(outDir, c.fileName) });
  }
  const pageGz = chunks.filter((c) => c.part === 'page').reduce((s, c) => s + c.gz, 0);
  const workerGz = chunks.filter((c) => c.part === 'worker').reduce((s, c) => s + c.gz, 0);
  const wasm = readdirWasm(outDir);
  const workerPackages = packageShares(
    chunks
      .filter((c) => c.part === 'worker' && existsSync(join(outDir, `${c.fileName}.map`)))
      .map((c) => {
        const code = readFileSync(join(outDir, c.fileName), 'utf8');
        const map = JSON.parse(readFileSync(join(outDir, `${c.fileName}.map`), 'utf8')) as { sources: string[]; mappings: string };
        return { attribution: attributeBySource(code, map), raw: code.length, gz: c.gz };
      }),
  );
  return { chunks, pageGz, workerGz, totalGz: pageGz + workerGz, wasmGz: wasm, lazy, workerPackages, screenModule: screen };
}

function readdirWasm(outDir: string): number {
  const assets = join(outDir, 'assets');
  const files = existsSync(assets) ? readdirSync(assets) : [];
  return files.filter((f) => f.endsWith('.wasm')).reduce((s, f) => s + sizeOf(outDir, `assets/${f}`).gz, 0);
}

/** The route table the CLI prints: the page part with each route as the first screen. */
export function formatByRoute(m: Measurement): string {
  const worker = m.report.workerGz;
  const lines = ['First screen by route (a deep link; page + worker, gzipped):'];
  for (const [route, pageGz] of Object.entries(m.byRoute)) lines.push(`  ${route.padEnd(11)} ${((pageGz + worker) / 1000).toFixed(1).padStart(7)} kB`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const screen = arg('screen');
  const m = await measureBundle({ ...(screen ? { screen } : {}), log: (s) => console.error(s) });
  if (args.includes('--json')) {
    console.log(JSON.stringify({ ...m.report, byRoute: m.byRoute }, null, 2));
    return;
  }
  const packages = Number(arg('packages') ?? 25);
  console.log(formatReport(m.report, { packages }));
  console.log('');
  console.log(formatByRoute(m));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

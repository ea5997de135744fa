/**
 * The pure half of the bundle-size measurement (scripts/bundle-size.ts builds, this file judges):
 * which chunks the first screen loads, their gzipped sizes, and which packages fill the kernel
 * worker (from its sourcemaps).
 *
 * Definitions (docs/benchmarks.md, "Fast to open"):
 * - The **page** part of the first screen is the static-import closure of the HTML entry chunk,
 *   of every chunk the entry imports dynamically (src/main.ts imports the app, the kernel client
 *   and sync behind `import()` only to catch load errors, and awaits all of them at boot), and of
 *   the first screen's page chunk (the default route's, src/lib/router.svelte.ts DEFAULT_ROUTE).
 *   Other dynamic imports (other pages, CodeMirror, graph libraries) are not part of it.
 * - The **worker** part is the static-import closure of the kernel worker's entry chunk; its
 *   dynamic imports load on demand (sync, LLM wire code, the workflow parser…) and are excluded.
 * - Sizes are gzip level 9 of each file, summed over files. The sqlite WebAssembly is reported
 *   beside the total but is not JavaScript and does not count towards the budget.
 */
import { gzipSync } from 'node:zlib';

/** The budget of issue 14, point 9: first-screen JavaScript, gzipped (kB = 1,000 bytes, as vite prints). */
export const FIRST_SCREEN_BUDGET_GZ = 250_000;
/**
 * A screen opened by a link (#/workflows/x, #/sessions/y): the page asked for plus the kernel
 * worker. Not the app's first screen (the default route's, FIRST_SCREEN_BUDGET_GZ), so a budget
 * of its own (docs/benchmarks.md, "Fast to open": why 265).
 */
export const DEEP_LINK_BUDGET_GZ = 265_000;

export interface ChunkNode {
  readonly fileName: string;
  /** The module the chunk stands for (entry or dynamic entry), repository-relative; null for shared chunks. */
  readonly facade: string | null;
  readonly isEntry: boolean;
  readonly imports: readonly string[];
  readonly dynamicImports: readonly string[];
  /** The modules whose code the chunk holds, repository-relative. */
  readonly modules: readonly string[];
}

export interface BuildGraph {
  /** 'page': the app's main build; 'worker': the kernel worker's build. */
  readonly page: readonly ChunkNode[];
  readonly worker: readonly ChunkNode[];
}

export interface SizedChunk {
  readonly fileName: string;
  readonly part: 'page' | 'worker';
  /** Why it is on the first screen: entry, boot (awaited by src/main.ts), screen (the first page), static. */
  readonly role: 'entry' | 'boot' | 'screen' | 'static';
  readonly raw: number;
  readonly gz: number;
}

export function gzSize(bytes: Uint8Array | string): number {
  return gzipSync(bytes, { level: 9 }).length;
}

/** Every chunk reachable from `roots` through static imports, roots first, in breadth-first order. */
export function staticClosure(chunks: readonly ChunkNode[], roots: readonly string[]): string[] {
  const byName = new Map(chunks.map((c) => [c.fileName, c]));
  const seen = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const c = byName.get(name);
    if (!c) throw new Error(`bundle graph: no chunk named ${name}`);
    seen.add(name);
    queue.push(...c.imports);
  }
  return [...seen];
}

export interface FirstScreen {
  readonly page: readonly { fileName: string; role: SizedChunk['role'] }[];
  readonly worker: readonly { fileName: string; role: SizedChunk['role'] }[];
}

/**
 * The first screen's chunks. `screenModule` is the repository-relative module of the first
 * screen's page (e.g. src/pages/WorkspacesPage.svelte); when no chunk stands for it (it is bundled
 * statically into the app), nothing is added for it.
 */
export function firstScreen(graph: BuildGraph, screenModule: string | null): FirstScreen {
  const entries = graph.page.filter((c) => c.isEntry);
  if (entries.length !== 1) throw new Error(`bundle graph: expected one page entry, found ${entries.length}`);
  const entry = entries[0]!;
  const boot = entry.dynamicImports;
  const screen = screenModule === null ? undefined : graph.page.find((c) => c.facade === screenModule);
  const roles = new Map<string, SizedChunk['role']>([[entry.fileName, 'entry']]);
  for (const b of boot) if (!roles.has(b)) roles.set(b, 'boot');
  if (screen && !roles.has(screen.fileName)) roles.set(screen.fileName, 'screen');
  const page = staticClosure(graph.page, [entry.fileName, ...boot, ...(screen ? [screen.fileName] : [])]);
  const workerEntries = graph.worker.filter((c) => c.isEntry && c.facade?.endsWith('kernel.worker.ts'));
  if (workerEntries.length !== 1) throw new Error(`bundle graph: expected one kernel worker entry, found ${workerEntries.length}`);
  const worker = staticClosure(graph.worker, [workerEntries[0]!.fileName]);
  return {
    page: page.map((fileName) => ({ fileName, role: roles.get(fileName) ?? 'static' })),
    worker: worker.map((fileName, i) => ({ fileName, role: i === 0 ? 'entry' : 'static' })),
  };
}

// ---- sourcemap attribution ----

const B64 = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c, i]));

/** Decode one base64-VLQ segment into its fields. */
function decodeSegment(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const d = B64.get(ch);
    if (d === undefined) throw new Error(`sourcemap: bad VLQ character ${ch}`);
    value += (d & 31) << shift;
    if (d & 32) {
      shift += 5;
      continue;
    }
    out.push(value & 1 ? -(value >>> 1) : value >>> 1);
    value = 0;
    shift = 0;
  }
  return out;
}

export interface SourceMapLike {
  readonly sources: readonly string[];
  readonly mappings: string;
}

/**
 * Characters of the generated `code` per source file of `map`: each mapped segment owns the
 * characters up to the next segment on its line; characters before a line's first segment, and
 * segments without a source, count as '(unmapped)'.
 */
export function attributeBySource(code: string, map: SourceMapLike): Map<string, number> {
  const lines = code.split('\n');
  const out = new Map<string, number>();
  const add = (k: string, n: number): void => {
    if (n > 0) out.set(k, (out.get(k) ?? 0) + n);
  };
  const mapLines = map.mappings.split(';');
  let src = 0;
  for (let li = 0; li < lines.length; li++) {
    const len = lines[li]!.length + (li < lines.length - 1 ? 1 : 0);
    const segs = (mapLines[li] ?? '').split(',').filter((s) => s.length > 0);
    let col = 0;
    let prevCol = 0;
    let prevSrc: string = '(unmapped)';
    for (const s of segs) {
      const f = decodeSegment(s);
      col += f[0]!;
      add(prevSrc, col - prevCol);
      if (f.length >= 4) {
        src += f[1]!;
        prevSrc = map.sources[src] ?? '(unmapped)';
      } else prevSrc = '(unmapped)';
      prevCol = col;
    }
    add(prevSrc, len - prevCol);
  }
  return out;
}

/** The package a source path belongs to (`zod`, `@codemirror/view`), or the project folder (`worker/kernel`). */
export function packageOf(source: string): string {
  const nm = source.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = source.slice(nm + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (source === '(unmapped)') return '(unmapped: licence comments, import lines)';
  const clean = source.replace(/^(\.\.\/)+/, '').replace(/^\/?(vite|\0)/, '');
  const parts = clean.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? clean);
}

export interface PackageShare {
  readonly pkg: string;
  readonly raw: number;
  /** The package's share of its chunks' gzipped size (raw share × chunk gz): an estimate, gzip is not additive. */
  readonly gzEstimate: number;
}

/** Sum per-source attributions of several chunks into per-package shares, largest first. */
export function packageShares(chunks: readonly { attribution: Map<string, number>; raw: number; gz: number }[]): PackageShare[] {
  const raw = new Map<string, number>();
  const gz = new Map<string, number>();
  for (const c of chunks) {
    for (const [source, n] of c.attribution) {
      const p = packageOf(source);
      raw.set(p, (raw.get(p) ?? 0) + n);
      gz.set(p, (gz.get(p) ?? 0) + (c.raw > 0 ? (n / c.raw) * c.gz : 0));
    }
  }
  return [...raw].map(([pkg, r]) => ({ pkg, raw: r, gzEstimate: Math.round(gz.get(pkg) ?? 0) })).sort((a, b) => b.raw - a.raw);
}

// ---- report ----

export const kb = (n: number): string => `${(n / 1000).toFixed(1)} kB`;

export interface BundleReport {
  readonly chunks: readonly SizedChunk[];
  readonly pageGz: number;
  readonly workerGz: number;
  readonly totalGz: number;
  readonly wasmGz: number;
  /** Chunks outside the first screen (lazy), gzipped, for information. */
  readonly lazy: readonly SizedChunk[];
  readonly workerPackages: readonly PackageShare[];
  readonly screenModule: string | null;
}

export function formatReport(r: BundleReport, opts: { packages?: number } = {}): string {
  const rows = r.chunks.map((c) => [c.part, c.role, c.fileName.replace(/^assets\//, ''), kb(c.raw), kb(c.gz)]);
  const head = ['part', 'role', 'chunk', 'raw', 'gzip -9'];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => (i >= 3 ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  const out = [`First screen (${r.screenModule ?? 'no page chunk'}):`, line(head), ...rows.map(line)];
  out.push(
    `page ${kb(r.pageGz)} + worker ${kb(r.workerGz)} = ${kb(r.totalGz)} gzipped JavaScript; budget ${kb(FIRST_SCREEN_BUDGET_GZ)}: ${r.totalGz <= FIRST_SCREEN_BUDGET_GZ ? 'within' : 'OVER'}`,
    `not JavaScript, not counted: sqlite wasm ${kb(r.wasmGz)} gzipped`,
  );
  if (r.lazy.length > 0) {
    out.push('', 'Loaded on demand (not counted):');
    for (const c of [...r.lazy].sort((a, b) => b.gz - a.gz)) out.push(`  ${c.part.padEnd(6)} ${c.fileName.replace(/^assets\//, '').padEnd(44)} ${kb(c.gz).padStart(9)}`);
  }
  const n = opts.packages ?? 25;
  if (n > 0 && r.workerPackages.length > 0) {
    out.push('', 'Kernel worker, first-screen chunks, by package (sourcemap; minified chars, gzip share estimated):');
    for (const p of r.workerPackages.slice(0, n)) out.push(`  ${p.pkg.padEnd(34)} ${kb(p.raw).padStart(9)} raw  ~${kb(p.gzEstimate).padStart(8)} gz`);
  }
  return out.join('\n');
}

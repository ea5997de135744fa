/**
 * The first screen's JavaScript stays within its budget (issue 14, point 9: ≤ 250 kB gzipped),
 * so a merge cannot make the app slow to open without failing here. It builds the real app once
 * with scripts/bundle-size.ts (into .tmp/bundle-size, never dist/; about 20 s) and prints the
 * table of first-screen chunks, the lazy chunks and the worker's code by package.
 *
 * What it holds (definitions: scripts/bundle-graph.ts):
 * 1. the default route's first screen (page + kernel worker, static closures) ≤ the budget; every
 *    other route opened by a link ≤ the deep-link budget (DEEP_LINK_BUDGET_GZ);
 * 2. every route's page is a chunk of its own, outside the app shell (src/lib/pages.ts);
 * 3. what only later screens or features use is not in the first screen: CodeMirror, graph,
 *    canvas and Markdown libraries in the page;
 *    the sync stack (yjs, y-websocket, y-indexeddb), the YAML library, the engine and the
 *    workflow parser in the worker.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { formatByRoute, measureBundle, ROUTE_PAGES, type Measurement } from '../../scripts/bundle-size.ts';
import { DEEP_LINK_BUDGET_GZ, FIRST_SCREEN_BUDGET_GZ, formatReport, kb } from '../../scripts/bundle-graph.ts';

describe('bundle size: the first screen', { timeout: 240_000 }, () => {
  let m: Measurement;

  before(async () => {
    m = await measureBundle({ log: (s) => console.log(s) });
    console.log(formatReport(m.report, { packages: 20 }));
    console.log(formatByRoute(m));
  });

  test(`the default route's first screen is within ${kb(FIRST_SCREEN_BUDGET_GZ)} gzipped`, () => {
    assert.ok(m.report.totalGz <= FIRST_SCREEN_BUDGET_GZ,
      `first-screen JavaScript is ${kb(m.report.totalGz)} gzipped (page ${kb(m.report.pageGz)} + worker ${kb(m.report.workerGz)}), over the ${kb(FIRST_SCREEN_BUDGET_GZ)} budget: load the new code lazily (docs/benchmarks.md, "Fast to open")`);
  });

  test(`every route opened by a link is within ${kb(DEEP_LINK_BUDGET_GZ)} gzipped`, () => {
    const over = Object.entries(m.byRoute).filter(([, pageGz]) => pageGz + m.report.workerGz > DEEP_LINK_BUDGET_GZ);
    assert.deepEqual(over.map(([r, g]) => `${r}: ${kb(g + m.report.workerGz)}`), []);
  });

  test('every route page is a chunk of its own, not in the app shell', () => {
    const shell = m.report.chunks.filter((c) => c.part === 'page' && c.role !== 'screen').map((c) => m.graph.page.find((g) => g.fileName === c.fileName)!);
    for (const [route, mod] of Object.entries(ROUTE_PAGES)) {
      assert.ok(m.graph.page.some((c) => c.facade === mod), `${route}: ${mod} has no chunk of its own`);
      const holder = shell.find((c) => c.modules.includes(mod));
      assert.equal(holder?.fileName, undefined, `${route}: ${mod} is loaded with the app shell (imported statically somewhere?)`);
    }
  });

  test('heavy code that the first screen does not use stays out of it', () => {
    const workerPkgs = new Set(m.report.workerPackages.map((p) => p.pkg));
    for (const pkg of ['yjs', 'y-websocket', 'y-indexeddb', 'y-protocols', 'lib0', 'yaml', 'jsep']) {
      assert.ok(!workerPkgs.has(pkg), `the kernel worker's first chunk holds ${pkg}`);
    }
    // Of the engine only progress.ts (the hub) belongs there; of the workflow code only code.ts (the loader).
    for (const [dir, most] of [['worker/engine', 5_000], ['worker/workflow', 1_000]] as const) {
      const raw = m.report.workerPackages.find((p) => p.pkg === dir)?.raw ?? 0;
      assert.ok(raw < most, `the kernel worker's first chunk holds ${kb(raw)} of ${dir}`);
    }
    // In the page: editors, graphs, canvases and Markdown load with the screens that use them.
    const heavy = /node_modules\/(@codemirror|@lezer|@xyflow|sigma|graphology|marked|dompurify|d3-force)\//;
    const firstPage = m.report.chunks.filter((c) => c.part === 'page').flatMap((c) => m.graph.page.find((g) => g.fileName === c.fileName)!.modules);
    assert.deepEqual([...new Set(firstPage.filter((id) => heavy.test(id)).map((id) => heavy.exec(id)![1]))], [], 'heavy libraries on the first screen');
  });
});

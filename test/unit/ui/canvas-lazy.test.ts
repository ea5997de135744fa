/**
 * The workflow canvas stays out of the first screen's bundle: xyflow (and the canvas components
 * that use it) are reached only through `import()` (LazyCanvas), never by a static import from the
 * rest of the UI. test/e2e/canvas.test.ts checks the built app too: no canvas chunk is fetched
 * before a canvas is shown.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { references } from './module-refs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');
const CANVAS = join(SRC, 'components/canvas');
/** Loaded with import() only: everything in components/canvas/ but the loader itself. */
const LAZY = new Set(readdirSync(CANVAS).filter((f) => f !== 'LazyCanvas.svelte').map((f) => join(CANVAS, f)));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|svelte|js)$/.test(name) ? [p] : [];
  });
}

test('outside src/components/canvas/, xyflow and the canvas are imported with import() only', () => {
  const offenders: string[] = [];
  let dynamic = 0;
  for (const file of sources(SRC)) {
    if (file.startsWith(`${CANVAS}/`)) continue;
    const text = readFileSync(file, 'utf8');
    for (const r of references(text)) {
      const isDynamic = r.statement.startsWith('import(');
      const target = r.spec.startsWith('.') ? resolve(dirname(file), r.spec) : r.spec;
      const canvasy = r.spec.startsWith('@xyflow/') || LAZY.has(target);
      if (canvasy && isDynamic) dynamic++;
      if (canvasy && !isDynamic && !r.typeOnly) offenders.push(`${relative(ROOT, file)}: ${r.statement}`);
    }
  }
  assert.deepEqual(offenders, [], 'load the canvas through LazyCanvas (import()), not a static import');
  assert.ok(dynamic >= 3, `the editor, the workflow page and the session page load it lazily (found ${dynamic})`);
});

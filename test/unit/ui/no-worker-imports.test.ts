/**
 * The UI reaches the kernel only through its client (src/lib/kernel.svelte.ts) and the worker it
 * starts: no file under src/ may import worker/ code at run time. Type-only imports
 * (`import type`, `export type … from`) are erased and fine; the one allowed run-time reference is
 * the worker entry URL in src/lib/kernel-worker.ts (`new URL('../../worker/kernel.worker.ts', …)`),
 * which starts the worker rather than bundling it into the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { references } from './module-refs.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SRC = join(ROOT, 'src');
const WORKER = join(ROOT, 'worker') + sep;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.(ts|svelte|js|mjs)$/.test(name) ? [p] : [];
  });
}

test('the reference scanner tells type-only imports from run-time ones', () => {
  const refs = references(`import type { A } from '../worker/a.ts';\nimport { b, type C } from "../worker/b.ts";\nexport type { D } from '../worker/d.ts';\nimport '../worker/e.ts';\nconst f = await import('../worker/f.ts');\nimport {\n  g,\n} from '../worker/g.ts';`);
  assert.deepEqual(refs.map((r) => [r.spec, r.typeOnly]), [
    ['../worker/a.ts', true], ['../worker/b.ts', false], ['../worker/d.ts', true], ['../worker/g.ts', false], ['../worker/e.ts', false], ['../worker/f.ts', false],
  ]);
});

test('no file under src/ imports worker/ code at run time (type-only imports only)', () => {
  const offenders: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 20, 'the scan found the UI sources');
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const r of references(text)) {
      if (!r.spec.startsWith('.')) continue;
      const target = resolve(dirname(file), r.spec.replace(/\?.*$/, ''));
      if (!target.startsWith(WORKER) || r.typeOnly) continue;
      offenders.push(`${relative(ROOT, file)}: ${r.statement.replace(/\s+/g, ' ')}`);
    }
  }
  assert.deepEqual(offenders, [], 'use `import type`, or reach the kernel through src/lib/kernel.svelte.ts (a query, command or API method)');
});

/**
 * worker/sync/ sits on the kernel floor's shoulders (docs/architecture.md): it imports from
 * worker/kernel and its own files only, plus the Yjs packages, and uses no DOM, so it runs in a
 * Web Worker and in Node. No kernel file imports it (arrows point down).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../..');
const PACKAGES = new Set(['yjs', 'y-websocket', '@noble/hashes/utils.js']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|(?:^|\n)\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

test('worker/sync imports only worker/kernel, its own files and the Yjs packages', () => {
  const wrong: string[] = [];
  for (const file of files(join(ROOT, 'worker/sync'))) {
    for (const spec of imports(file)) {
      if (spec.startsWith('.')) {
        const target = relative(ROOT, resolve(dirname(file), spec));
        if (!target.startsWith('worker/sync/') && !target.startsWith('worker/kernel/')) wrong.push(`${relative(ROOT, file)} → ${target}`);
      } else if (!PACKAGES.has(spec)) {
        wrong.push(`${relative(ROOT, file)} → ${spec}`);
      }
    }
  }
  assert.deepEqual(wrong, []);
});

test('worker/sync uses no DOM (a Web Worker and Node have none)', () => {
  const code = (f: string) => readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const wrong = files(join(ROOT, 'worker/sync')).filter((f) => /\b(window|document|localStorage|sessionStorage|navigator)\.[A-Za-z_]/.test(code(f)));
  assert.deepEqual(wrong.map((f) => relative(ROOT, f)), []);
});

test('nothing in worker/kernel imports worker/sync', () => {
  const wrong = files(join(ROOT, 'worker/kernel')).filter((f) => imports(f).some((s) => s.startsWith('.') && relative(ROOT, resolve(dirname(f), s)).startsWith('worker/sync/')));
  assert.deepEqual(wrong.map((f) => relative(ROOT, f)), []);
});

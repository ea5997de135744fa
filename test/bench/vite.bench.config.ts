/**
 * Vite build of the browser benchmark (page + module worker), used by test/bench/run.ts through
 * vite's build() API. Output: .tmp/bench-dist (gitignored).
 */
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('./browser'),
  base: './',
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: here('../../.tmp/bench-dist'),
    emptyOutDir: true,
    target: 'es2022',
    reportCompressedSize: false,
  },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
});

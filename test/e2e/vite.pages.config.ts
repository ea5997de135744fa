/**
 * Builds the e2e test pages (test/e2e/pages/*.html) into .tmp/e2e-pages: the storage contract
 * page (OPFS adapter in a Chromium worker) and the UI-less kernel harness. Not the app: the app
 * is built by the root vite.config.ts into dist/.
 *
 *   npx vite build --config test/e2e/vite.pages.config.ts
 */
import { defineConfig } from 'vite';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('./pages', import.meta.url));
const repo = fileURLToPath(new URL('../..', import.meta.url));

const inputs = Object.fromEntries(
  readdirSync(root)
    .filter((f) => f.endsWith('.html'))
    .map((f) => [f.replace(/\.html$/, ''), join(root, f)]),
);

export default defineConfig({
  root,
  base: './',
  publicDir: false,
  logLevel: 'warn',
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  build: {
    outDir: join(repo, '.tmp/e2e-pages'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: { input: inputs },
  },
});

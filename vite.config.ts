/**
 * Build of the Kingdom app: the Svelte UI, the kernel worker (its own ES module file), the
 * sqlite wasm, and a service worker that precaches all three so the app opens offline.
 *
 * Invariants:
 * 1. The built app runs under the strict CSP of src/lib/csp.ts: sent as a header by `vite preview`
 *    (every response: page, worker, service worker) and as a <meta> in the built index.html.
 *    The dev server sends none (HMR needs inline scripts).
 * 2. Precache = app + worker bundle + wasm; the sqlite helper workers that opfs-sahpool never
 *    loads (`sqlite3-worker1*`, `sqlite3-opfs-async-proxy*`) are left out.
 * 3. No bundle contains the Function constructor: zod's JIT (which `jitless: true` in
 *    worker/kernel/zod-setup.ts never runs) is replaced by a stub at build time.
 * 4. The worker ships without the kernel definitions' descriptions (build/strip-docs.ts):
 *    documentation, generated into docs/commands.md from the source, never read at run time.
 */
import { defineConfig, type Plugin } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';
import { CSP_HEADER, CSP_META } from './src/lib/csp.ts';
import { stripDefinitionDocs } from './build/strip-docs.ts';

const THEME_COLOR = '#4338ca';

export default defineConfig({
  plugins: [
    svelte(),
    stripZodJit(),
    cspHeader(),
    cspMeta(),
    VitePWA({
      registerType: 'autoUpdate',
      // No registerSW.js at page load: src/lib/service-worker.ts registers /sw.js once the first
      // screen is interactive, so the precache does not compete with the first open.
      injectRegister: false,
      // public/ icons are precached by globPatterns below; listing them again would duplicate them.
      includeManifestIcons: false,
      manifest: {
        name: 'Kingdom',
        short_name: 'Kingdom',
        description: 'Local-first workflow orchestration that runs entirely in your browser.',
        lang: 'en',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        theme_color: THEME_COLOR,
        background_color: '#0f172a',
        icons: [
          { src: 'pwa-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: 'pwa-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: 'maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
          { src: 'favicon.svg', sizes: 'any', type: 'image/svg+xml', purpose: 'any' },
        ],
      },
      workbox: {
        // No `webmanifest` here: the plugin adds the manifest itself (it would be listed twice).
        globPatterns: ['**/*.{js,css,html,wasm,svg,png,ico}'],
        globIgnores: ['**/sqlite3-worker1*', '**/sqlite3-opfs-async-proxy*'],
        // The sqlite wasm is ~879 kB; leave room for growth.
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
        cleanupOutdatedCaches: true,
        navigateFallback: 'index.html',
      },
    }),
  ],
  worker: { format: 'es', plugins: () => [stripZodJit(), stripDefinitionDocs()] },
  optimizeDeps: { exclude: ['@sqlite.org/sqlite-wasm'] },
  build: { target: 'es2022' },
});

/** Send the CSP header on every `vite preview` response (page, worker, service worker, wasm). */
function cspHeader(): Plugin {
  return {
    name: 'kingdom:csp-header',
    configurePreviewServer(server) {
      server.middlewares.use((_req, res, next) => {
        res.setHeader('Content-Security-Policy', CSP_HEADER);
        next();
      });
    },
  };
}

/** Put the CSP into the built index.html right after <meta charset>, before any script (build only). */
function cspMeta(): Plugin {
  const charset = /<meta charset="UTF-8"\s*\/?>/i;
  return {
    name: 'kingdom:csp-meta',
    apply: 'build',
    transformIndexHtml: {
      order: 'post',
      handler(html) {
        if (!charset.test(html)) throw new Error('index.html must start its <head> with <meta charset="UTF-8" />');
        return html.replace(charset, (m) => `${m}\n    <meta http-equiv="Content-Security-Policy" content="${CSP_META}" />`);
      },
    },
  };
}

/**
 * zod 4 keeps a JIT that builds parsers with the Function constructor (`const F = Function;
 * new F(...)`). The kernel runs zod jitless, so that code is dead, but it would still ship and a
 * strict CSP audit flags it. Swap it for a constructor that throws (zod catches that and uses its
 * interpreter). Every emitted chunk is then checked for eval-like code, so a zod upgrade that
 * moves the JIT fails the build instead of shipping it.
 */
function stripZodJit(): Plugin {
  const zodCore = /[\\/]node_modules[\\/]zod[\\/]v4[\\/]core[\\/][\w-]+\.js$/;
  const alias = /\bconst F = Function;/g;
  const stub = 'const F = function FunctionConstructorRemoved() { throw new EvalError("zod JIT removed from the Kingdom build (jitless)"); };';
  const evalLike: readonly [string, RegExp][] = [
    ['eval(', /(?<![\w$])eval\s*\(/],
    ['new Function', /\bnew\s+Function\b/],
    ['Function(', /(?<![\w$.])Function\s*\(/],
    ['x = Function', /(?<![\w$.])[\w$]+\s*=\s*Function\b(?!\s*[.\w$])/],
  ];
  return {
    name: 'kingdom:strip-zod-jit',
    enforce: 'pre',
    transform(code, id) {
      if (!zodCore.test(id) || !alias.test(code)) return null;
      return { code: code.replace(alias, stub), map: null };
    },
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        for (const [what, re] of evalLike) {
          const m = re.exec(chunk.code);
          if (m) this.error(`${chunk.fileName} contains ${what}: …${chunk.code.slice(Math.max(0, m.index - 60), m.index + 60)}… (see stripZodJit in vite.config.ts)`);
        }
      }
    },
  };
}

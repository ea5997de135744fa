/**
 * The Content-Security-Policy of the built app, in one place: vite.config.ts sends it as a
 * response header from `vite preview` and injects it as a <meta> into the built index.html;
 * tests read it from here.
 *
 * Invariants:
 * 1. No 'unsafe-eval' and no inline scripts: 'wasm-unsafe-eval' is the only exception, and only
 *    for compiling the sqlite WebAssembly module.
 * 2. The meta form omits `frame-ancestors` (browsers ignore it in a meta element and warn).
 * 3. `connect-src` allows https: anywhere and http: on the loopback host only: workflow `http`
 *    steps (and, later, LLM providers such as a local Ollama) are network calls the user asked for.
 *    Scripts, workers and styles stay same-origin. The sync relay likewise: `wss:` anywhere, `ws:`
 *    on the loopback host only (a relay run with `npm run relay` on this machine).
 */

export const CSP_DIRECTIVES = {
  'default-src': ["'self'"],
  'script-src': ["'self'", "'wasm-unsafe-eval'"],
  'worker-src': ["'self'"],
  'connect-src': ["'self'", 'https:', 'http://localhost:*', 'http://127.0.0.1:*', 'wss:', 'ws://localhost:*', 'ws://127.0.0.1:*'],
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'base-uri': ["'self'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'self'"],
} as const satisfies Record<string, readonly string[]>;

export type CspDirective = keyof typeof CSP_DIRECTIVES;

/** Directives a <meta http-equiv> policy cannot carry. */
const HEADER_ONLY: readonly CspDirective[] = ['frame-ancestors'];

/** The policy as sent in the `Content-Security-Policy` response header. */
export const CSP_HEADER = serialize(Object.keys(CSP_DIRECTIVES) as CspDirective[]);

/** The policy as injected into `<meta http-equiv="Content-Security-Policy">` of the built page. */
export const CSP_META = serialize((Object.keys(CSP_DIRECTIVES) as CspDirective[]).filter((d) => !HEADER_ONLY.includes(d)));

function serialize(names: readonly CspDirective[]): string {
  return names.map((name) => `${name} ${CSP_DIRECTIVES[name].join(' ')}`).join('; ');
}

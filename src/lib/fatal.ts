/**
 * The error page for when the app itself cannot start (before or while Svelte mounts), built
 * with plain DOM calls so it works even when the app's modules failed to load. Text only
 * (`textContent`), never HTML.
 */

export const STARTUP_HINTS = [
  'Kingdom runs entirely in this browser: it needs Web Workers, WebAssembly and, to keep data, the Origin Private File System.',
  'Use a recent Chromium, Edge, Firefox or Safari, outside private browsing, then reload.',
  'To try it without saving anything, open it in memory mode.',
] as const;

/** This page's address with `?storage=memory` (the worker then keeps everything in memory). */
export function memoryModeHref(): string {
  const url = new URL(location.href);
  url.searchParams.set('storage', 'memory');
  return url.href;
}

export function renderFatal(title: string, detail: string): void {
  const root = document.getElementById('app') ?? document.body;
  const main = el('main', 'fatal');
  main.setAttribute('role', 'alert');
  main.append(el('h1', '', title), el('p', 'fatal-detail', detail));
  const list = el('ul', 'fatal-hints');
  for (const hint of STARTUP_HINTS) list.append(el('li', '', hint));
  const reload = el('button', 'fatal-reload', 'Reload');
  reload.setAttribute('type', 'button');
  reload.addEventListener('click', () => location.reload());
  const memory = el('a', 'fatal-memory', 'Open in memory mode');
  memory.setAttribute('href', memoryModeHref());
  const actions = el('div', 'fatal-actions');
  actions.append(reload, memory);
  main.append(list, actions);
  root.replaceChildren(main);
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * Every screen's page as its own chunk, loaded when the screen is first shown (src/App.svelte
 * renders them through LazyPage). The first screen's chunk starts loading while the kernel
 * starts (`preloadPage`), so opening the app does not wait for it after the kernel is ready.
 *
 * Invariants:
 * 1. Nothing here imports a page statically: each loader is one dynamic `import()`, so a page's
 *    code (and what only it uses: CodeMirror, graph and Markdown libraries) is not on the first
 *    screen unless it is the first screen (scripts/bundle-size.ts measures it; the guard is
 *    test/e2e/bundle-size.test.ts).
 * 2. A loader may be called any number of times: the module loads once.
 */
import type { Component } from 'svelte';
import type { RouteId } from './router.svelte.ts';

/** A page component; each has its own props (the session page takes `sessionId`). */
export type PageModule = { default: Component<any> };
export type PageLoader = () => Promise<PageModule>;

export const pages = {
  start: () => import('../pages/StartPage.svelte'),
  workspaces: () => import('../pages/WorkspacesPage.svelte'),
  workflows: () => import('../pages/WorkflowsPage.svelte'),
  contracts: () => import('../pages/ContractsPage.svelte'),
  manifests: () => import('../pages/ManifestsPage.svelte'),
  inbox: () => import('../pages/InboxPage.svelte'),
  sessions: () => import('../pages/SessionsPage.svelte'),
  session: () => import('../pages/SessionPage.svelte'),
  forest: () => import('../pages/ForestPage.svelte'),
  realms: () => import('../pages/RealmsPage.svelte'),
  settings: () => import('../pages/SettingsPage.svelte'),
  events: () => import('../pages/EventLogPage.svelte'),
  integrity: () => import('../pages/IntegrityPage.svelte'),
  devices: () => import('../pages/DevicesPage.svelte'),
  storage: () => import('../pages/StoragePage.svelte'),
} satisfies Record<RouteId | 'session', PageLoader>;

/** The loader of the page a route shows (`#/sessions/<id>` is the session page). */
export function pageOf(route: RouteId, item: string | null): PageLoader {
  return route === 'sessions' && item !== null ? pages.session : pages[route];
}

/** Start loading a screen's page without waiting for it (a failure shows when it is rendered). */
export function preloadPage(route: RouteId, item: string | null): void {
  pageOf(route, item)().catch(() => {});
}

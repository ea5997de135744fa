/**
 * Screens addressed by the URL hash (`#/events`), so a reload or a link keeps the screen and
 * the page's query (e.g. `?storage=memory`) is untouched.
 */

export const ROUTES = [
  { id: 'workspaces', label: 'Workspaces' },
  { id: 'events', label: 'Event log' },
  { id: 'integrity', label: 'Integrity' },
  { id: 'storage', label: 'Storage & status' },
] as const;

export type RouteId = (typeof ROUTES)[number]['id'];

/** Sections reserved in the navigation; their screens do not exist yet. */
export const COMING_SOON = ['Workflows', 'Sessions', 'Forest', 'Realms'] as const;

export const DEFAULT_ROUTE: RouteId = 'workspaces';

export function href(id: RouteId): string {
  return `#/${id}`;
}

class Router {
  route = $state.raw<RouteId>(parse(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.route = parse(location.hash);
    });
  }
}

function parse(hash: string): RouteId {
  const id = hash.replace(/^#\/?/, '');
  return ROUTES.find((r) => r.id === id)?.id ?? DEFAULT_ROUTE;
}

export const router = new Router();

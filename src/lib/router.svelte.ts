/**
 * Screens addressed by the URL hash (`#/events`), so a reload or a link keeps the screen and
 * the page's query (e.g. `?storage=memory`) is untouched.
 *
 * A route may carry one item after its id: `#/events/42` is the event log with event 42 open in
 * its detail panel (`router.item === '42'`), and a sub-view after that: `#/workflows/hello/run`
 * (`router.sub === 'run'`). A screen's filters may follow a `?` (`#/forest?tag=ops&view=graph`:
 * `router.params`), so Back and a reload keep them. Unknown routes fall back to the default screen.
 *
 * The default screen is `#/start`, the first screen (src/pages/StartPage.svelte): the welcome
 * screen while nobody has any work, otherwise it replaces itself with the person's work (see
 * src/lib/demo/plan.ts). It is not in the navigation; the brand in the header leads to it.
 */

export const ROUTES = [
  { id: 'workspaces', label: 'Workspaces' },
  { id: 'workflows', label: 'Workflows' },
  { id: 'contracts', label: 'Contracts' },
  { id: 'manifests', label: 'Manifests' },
  { id: 'inbox', label: 'Inbox' },
  { id: 'sessions', label: 'Sessions' },
  { id: 'forest', label: 'Forest' },
  { id: 'realms', label: 'Realms' },
  { id: 'events', label: 'Event log' },
  { id: 'integrity', label: 'Integrity' },
  { id: 'devices', label: 'Devices' },
  { id: 'storage', label: 'Storage & status' },
  { id: 'settings', label: 'Settings' },
] as const;

/** The first screen: not a navigation entry (see the header comment). */
export const START_ROUTE = 'start';

export type RouteId = (typeof ROUTES)[number]['id'] | typeof START_ROUTE;

/** Sections reserved in the navigation; their screens do not exist yet (none now). */
export const COMING_SOON: readonly string[] = [];

export const DEFAULT_ROUTE: RouteId = START_ROUTE;

export function href(id: RouteId, item?: string | number, sub?: string): string {
  if (item === undefined) return `#/${id}`;
  const base = `#/${id}/${encodeURIComponent(String(item))}`;
  return sub === undefined ? base : `${base}/${encodeURIComponent(sub)}`;
}

/** A screen's address with filters (`withParams('forest', { tag: 'ops' })` → `#/forest?tag=ops`); empty values are left out. */
export function withParams(id: RouteId, params: Readonly<Record<string, string | null | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `${href(id)}?${text}` : href(id);
}

/** Go to a screen (a new history entry). */
export function navigate(to: string): void {
  location.hash = to;
}

/** The event log with event `seq` open. */
export function eventHref(seq: number): string {
  return href('events', seq);
}

interface Location {
  readonly route: RouteId;
  readonly item: string | null;
  readonly sub: string | null;
  readonly params: Readonly<Record<string, string>>;
}

class Router {
  route = $state.raw<RouteId>(DEFAULT_ROUTE);
  /** The item after the route id (`#/events/42` → `'42'`), or null. */
  item = $state.raw<string | null>(null);
  /** The segment after the item (`#/workflows/hello/run` → `'run'`), or null. */
  sub = $state.raw<string | null>(null);
  /** The filters after `?` (`#/forest?tag=ops` → `{ tag: 'ops' }`), or `{}`. */
  params = $state.raw<Readonly<Record<string, string>>>({});

  constructor() {
    this.#apply(parse(location.hash));
    window.addEventListener('hashchange', () => this.#apply(parse(location.hash)));
  }

  /** Go to a screen in place of this one (no new history entry: Back skips it), e.g. a redirect. */
  replace(to: string): void {
    history.replaceState(history.state, '', to);
    this.#apply(parse(location.hash));
  }

  /** Drop the item from the address without a new history entry (e.g. a detail panel closed). */
  clearItem(): void {
    if (this.item === null) return;
    history.replaceState(history.state, '', href(this.route));
    this.item = null;
    this.sub = null;
    this.params = {};
  }

  #apply(l: Location): void {
    this.route = l.route;
    this.item = l.item;
    this.sub = l.sub;
    // A new object only when the filters changed, so screens reading them do not reload for nothing.
    if (JSON.stringify(l.params) !== JSON.stringify(this.params)) this.params = l.params;
  }
}

function parse(hash: string): Location {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q === -1 ? raw : raw.slice(0, q);
  const params: Record<string, string> = {};
  if (q !== -1) for (const [k, v] of new URLSearchParams(raw.slice(q + 1))) params[k] = v;
  const [id = '', item = '', sub = ''] = path.split('/', 3);
  const route = id === START_ROUTE ? START_ROUTE : ROUTES.find((r) => r.id === id)?.id;
  if (!route) return { route: DEFAULT_ROUTE, item: null, sub: null, params: {} };
  return { route, item: item ? safeDecode(item) : null, sub: item && sub ? safeDecode(sub) : null, params };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export const router = new Router();

/**
 * "Try the demo", "Remove the demo", the facts behind the first screen, and the guided path's
 * state on this device. Every change is an ordinary kernel command sent through the client
 * (src/lib/kernel.svelte.ts); the decisions are pure (plan.ts, content.ts, tour-steps.ts).
 *
 * Invariants:
 * 1. Trying the demo twice never makes two demos: an active demo is opened, and a new one is ONE
 *    batch under a key derived from this device and the number of demos so far (plan.ts), so a
 *    repeat (a double click, a second tab) replays the first result.
 * 2. Removing the demo is one batch: `session.cancel` for each of its unfinished sessions, then
 *    `workspace.archive`. The log is append-only, so nothing is erased: the workspace and
 *    everything in it leave every list and the open workspace falls back to the default one,
 *    while their events stay in the log (and verify) like any other history.
 * 3. The tour's state lives in this origin's localStorage (per device, like the open workspace):
 *    never in the log.
 */
import { kernel } from '../kernel.svelte.ts';
import { href, navigate } from '../router.svelte.ts';
import { inbox } from '../workflows/inbox.svelte.ts';
import { DEFAULT_WORKSPACE_ID } from '../workspace-scope.ts';
import { TERMINAL } from '../workflows/types.ts';
import { DEMO_WORKFLOW, isDemoWorkspace } from './mark.ts';
import { firstScreen, hasWork, planDemo, removalCommands, type FirstScreen, type WorkCounts } from './plan.ts';
import { parseTour, TOUR_STEPS, tourReduce, type TourAction, type TourState, type TourTarget } from './tour-steps.ts';

export const TRY_DEMO_SCOPE = 'demo.try';
export const REMOVE_DEMO_SCOPE = 'demo.remove';
const READ_SCOPE = 'demo.read';
const TOUR_KEY = 'kingdom.tour';

/** The open workspace is demo data. */
export function currentIsDemo(): boolean {
  return kernel.current !== null && isDemoWorkspace(kernel.current);
}

/** How many workflows, sessions and Forest notes a workspace holds (null: a query failed). */
export async function workCounts(workspaceId: string): Promise<WorkCounts | null> {
  const [workflows, sessions, notes] = await Promise.all([
    kernel.query(READ_SCOPE, 'workflow.list', { workspaceId }),
    kernel.query(READ_SCOPE, 'session.list', { workspaceId, limit: 1000 }),
    kernel.query(READ_SCOPE, 'forest.node.list', { workspaceId, limit: 1 }),
  ]);
  if (!workflows || !sessions || !notes) return null;
  return { workflows: workflows.length, sessions: sessions.length, notes: notes.total };
}

/** The first screen for this device now (plan.ts `firstScreen`), or null when it cannot be told. */
export async function decideFirstScreen(): Promise<FirstScreen | null> {
  const currentId = kernel.currentId;
  const current = await workCounts(currentId);
  if (!current) return null;
  await inbox.reload();
  let elsewhere = false;
  if (!hasWork(current)) {
    // Asked afresh: the client's list may still hold a workspace archived a moment ago.
    const active = await kernel.query(READ_SCOPE, 'workspace.list', {});
    if (!active) return null;
    for (const w of active) {
      if (w.id === currentId) continue;
      const c = await workCounts(w.id);
      if (c && hasWork(c)) {
        elsewhere = true;
        break;
      }
    }
  }
  return firstScreen({ current: { ...current, waiting: hasWork(current) ? inbox.count : 0 }, elsewhere });
}

/** The newest session of the demo workflow in a workspace, or null. */
async function demoSession(workspaceId: string): Promise<string | null> {
  const list = await kernel.query(READ_SCOPE, 'session.list', { workspaceId, workflow: DEMO_WORKFLOW, limit: 1 });
  return list?.[0]?.id ?? null;
}

/**
 * Create the demo (or open the one there is), open its workspace, show its live session and
 * start the guided path unless this device has seen it. False when it failed (the message is
 * under TRY_DEMO_SCOPE).
 */
export async function tryDemo(): Promise<boolean> {
  if (kernel.busy.has(TRY_DEMO_SCOPE)) return false;
  if (!kernel.status) await kernel.refreshStatus();
  const all = await kernel.query(TRY_DEMO_SCOPE, 'workspace.list', { includeArchived: true });
  const device = kernel.status?.deviceId;
  if (!all || !device) return false;
  const plan = planDemo(all, device);
  let sessionId: string | null;
  if (plan.kind === 'open') {
    sessionId = await demoSession(plan.workspaceId);
  } else {
    // The content (every example's YAML, the notes) loads only when someone asks for the demo.
    const { demoCommands } = await import('./content.ts');
    const results = await kernel.runBatch(TRY_DEMO_SCOPE, { demo: plan.key }, () => demoCommands(plan.workspaceId, plan.key));
    if (!results) return false;
    sessionId = (results.at(-1)?.value as { sessionId?: string } | undefined)?.sessionId ?? null;
  }
  kernel.switchWorkspace(plan.workspaceId);
  tour.dispatch({ type: 'begin', sessionId });
  navigate(sessionId ? href('sessions', sessionId) : href('workflows'));
  return true;
}

/** What removing the demo takes away (for its confirmation). */
export async function demoContents(workspaceId: string): Promise<WorkCounts | null> {
  return workCounts(workspaceId);
}

/** Cancel the demo's unfinished sessions and archive its workspace, as one batch; then the default workspace's first screen. */
export async function removeDemo(workspaceId: string): Promise<boolean> {
  const sessions = await kernel.query(REMOVE_DEMO_SCOPE, 'session.list', { workspaceId, limit: 1000 });
  if (!sessions) return false;
  const unfinished = sessions.filter((s) => !TERMINAL.has(s.status)).map((s) => s.id);
  const done = await kernel.runBatch(REMOVE_DEMO_SCOPE, { removeDemo: workspaceId, unfinished }, (key) => removalCommands(workspaceId, unfinished, key));
  if (!done) return false;
  tour.dispatch({ type: 'hide' });
  if (kernel.currentId === workspaceId) kernel.switchWorkspace(DEFAULT_WORKSPACE_ID);
  navigate(href('start'));
  return true;
}

/** The address of a tour target. */
export function targetHref(t: TourTarget): string {
  return t.item === null ? href(t.route) : href(t.route, t.item);
}

class Tour {
  state = $state.raw<TourState>(load());

  dispatch(a: TourAction): void {
    this.state = tourReduce(this.state, a);
    try {
      globalThis.localStorage?.setItem(TOUR_KEY, JSON.stringify(this.state));
    } catch {
      // Storage refused: the tour's place lasts until the reload.
    }
  }

  /** Open the tour at its first step (from the demo banner), on that step's screen. */
  async restart(): Promise<void> {
    const sessionId = this.state.sessionId ?? (kernel.current ? await demoSession(kernel.current.id) : null);
    this.dispatch({ type: 'restart', sessionId });
    this.#go();
  }

  next(): void {
    this.dispatch({ type: 'next' });
    if (this.state.open) this.#go();
  }

  back(): void {
    this.dispatch({ type: 'back' });
    this.#go();
  }

  #go(): void {
    navigate(targetHref(TOUR_STEPS[this.state.step]!.target(this.state.sessionId)));
  }
}

function load(): TourState {
  try {
    return parseTour(globalThis.localStorage?.getItem(TOUR_KEY) ?? null);
  } catch {
    return parseTour(null);
  }
}

export const tour = new Tour();

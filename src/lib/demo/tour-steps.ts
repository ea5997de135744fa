/**
 * The guided path through the demo: its steps (each names the screen it explains) and its state
 * as a pure reducer, so the panel (src/components/demo/GuidedTour.svelte) only renders and stores.
 *
 * Invariants:
 * 1. `done` means "this device has seen the tour": set by closing or finishing it, never unset.
 *    "Try the demo" opens the tour only when it is not done; the demo banner restarts it anyway.
 * 2. `step` stays within 0..TOUR_STEPS.length - 1 whatever was stored (stored state is parsed
 *    defensively: anything unreadable is a closed, not-done tour).
 * 3. `hide` (the demo was removed) closes the tour without marking it done.
 */
import { DEMO_RETRY_SECONDS, DEMO_WORKFLOW } from './mark.ts';

export interface TourTarget {
  /** A route id of src/lib/router.svelte.ts, and its item. */
  readonly route: 'sessions' | 'inbox' | 'workflows' | 'forest';
  readonly item: string | null;
}

export interface TourStep {
  readonly id: string;
  readonly title: string;
  readonly text: string;
  /** Where the step is shown; `sessionId` is the demo's live session (null: not known yet). */
  readonly target: (sessionId: string | null) => TourTarget;
  /** The link to that screen when the person is elsewhere. */
  readonly goLabel: string;
}

export const TOUR_STEPS: readonly TourStep[] = [
  {
    id: 'run',
    title: 'A run, live',
    text: `This session of ${DEMO_WORKFLOW} runs on this device while you watch. Its check step fails on the first try on purpose: the timeline counts down to the retry (“retrying in ${DEMO_RETRY_SECONDS - 1} s”), then the second attempt succeeds. Reload the page and it carries on where it was.`,
    target: (sessionId) => (sessionId ? { route: 'sessions', item: sessionId } : { route: 'sessions', item: null }),
    goLabel: 'Show the run',
  },
  {
    id: 'inbox',
    title: 'It waits for you',
    text: 'After the check, the run waits for your approval. The Inbox collects what waits for you (its count is in the navigation): approve the release and the session finishes.',
    target: () => ({ route: 'inbox', item: null }),
    goLabel: 'Open the Inbox',
  },
  {
    id: 'workflow',
    title: 'The workflow as a graph',
    text: `The run follows the workflow ${DEMO_WORKFLOW}: its steps and what each one waits for, as a graph and as the YAML you can edit.`,
    target: () => ({ route: 'workflows', item: DEMO_WORKFLOW }),
    goLabel: 'Open the workflow',
  },
  {
    id: 'forest',
    title: 'What it knows: the Forest',
    text: 'Notes linked with [[wiki links]] and tags. Every finished session adds a summary here, so later runs can read what earlier ones learned.',
    target: () => ({ route: 'forest', item: null }),
    goLabel: 'Open the Forest',
  },
];

export interface TourState {
  readonly open: boolean;
  readonly step: number;
  readonly done: boolean;
  readonly sessionId: string | null;
}

export const TOUR_INITIAL: TourState = { open: false, step: 0, done: false, sessionId: null };

export type TourAction =
  | { readonly type: 'begin'; readonly sessionId: string | null }
  | { readonly type: 'restart'; readonly sessionId: string | null }
  | { readonly type: 'next' }
  | { readonly type: 'back' }
  | { readonly type: 'close' }
  | { readonly type: 'hide' };

const LAST = TOUR_STEPS.length - 1;
const clamp = (n: number): number => Math.min(LAST, Math.max(0, Math.trunc(n)));

export function tourReduce(s: TourState, a: TourAction): TourState {
  switch (a.type) {
    case 'begin':
      return s.done ? { ...s, sessionId: a.sessionId } : { open: true, step: 0, done: false, sessionId: a.sessionId };
    case 'restart':
      return { open: true, step: 0, done: s.done, sessionId: a.sessionId };
    case 'next':
      // Next on the last step finishes the tour.
      return s.step >= LAST ? { ...s, open: false, done: true } : { ...s, step: s.step + 1 };
    case 'back':
      return { ...s, step: clamp(s.step - 1) };
    case 'close':
      return { ...s, open: false, done: true };
    case 'hide':
      return { ...s, open: false };
  }
}

/** Stored state (JSON, or null), read defensively. */
export function parseTour(raw: string | null): TourState {
  if (!raw) return TOUR_INITIAL;
  try {
    const v = JSON.parse(raw) as Partial<Record<keyof TourState, unknown>>;
    if (typeof v !== 'object' || v === null) return TOUR_INITIAL;
    return {
      open: v.open === true,
      step: typeof v.step === 'number' && Number.isFinite(v.step) ? clamp(v.step) : 0,
      done: v.done === true,
      sessionId: typeof v.sessionId === 'string' ? v.sessionId : null,
    };
  } catch {
    return TOUR_INITIAL;
  }
}

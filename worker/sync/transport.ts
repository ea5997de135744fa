/**
 * What the sync client needs to know about the connection that carries its Y.Doc to the relay,
 * and nothing else: whether the doc is in sync with the relay's copy. The client never sends a
 * byte itself; whatever moves Yjs updates (y-websocket in the app, worker/sync/websocket.ts; a
 * simulated network in the tests) reports its state through this interface.
 *
 * Invariants:
 * 1. `synced` means: the doc has received everything the relay held when this connection
 *    started (y-websocket: sync step 2 arrived). Only then may a device trust the doc's keys to
 *    tell what it already published.
 * 2. Listeners are called on every change of state, in order, never re-entrantly for one change.
 */

export type TransportState =
  /** Trying to reach the relay (first connection or a reconnect). */
  | { readonly kind: 'connecting' }
  /** Connected, and the doc holds everything the relay held when the connection began. */
  | { readonly kind: 'synced' }
  /** Not connected; retrying on its own. `reason` says why, for people. */
  | { readonly kind: 'offline'; readonly reason: string }
  /** The relay refused this device (a token it does not accept): retrying will not help. */
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

export interface SyncTransport {
  readonly state: TransportState;
  /** Call `listener` on every change of state; returns the function that stops it. */
  onState(listener: (state: TransportState) => void): () => void;
}

/** A transport whose state the owner sets: in-process exchanges (tests, one process, tools). */
export class ManualTransport implements SyncTransport {
  private current: TransportState;
  private readonly listeners = new Set<(state: TransportState) => void>();

  constructor(initial: TransportState = { kind: 'connecting' }) {
    this.current = initial;
  }

  get state(): TransportState {
    return this.current;
  }

  set(state: TransportState): void {
    this.current = state;
    for (const l of [...this.listeners]) l(state);
  }

  onState(listener: (state: TransportState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

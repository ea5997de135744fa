/**
 * The relay connection: y-websocket's WebsocketProvider carrying one room's Y.Doc to the relay,
 * seen by the sync client as a SyncTransport (docs/sync.md). Thin on purpose: y-websocket does
 * the Yjs sync protocol and the reconnects; this adds the relay token and says what state the
 * connection is in.
 *
 * Invariants:
 * 1. The provider connects to `<relayUrl>/<roomId>?token=<token>` (docs/sync-protocol.md, "Relay
 *    tokens"); `params.token` always holds a token that is still valid, so y-websocket's own
 *    reconnects carry one too.
 * 2. Before the token of the open connection expires (`refreshBeforeMs` ahead), a new one is
 *    minted and the connection is made again with it; the state stays `synced` through that
 *    deliberate reconnect unless it fails.
 * 3. No BroadcastChannel (`disableBc`): only the tab that holds the database syncs, and it talks
 *    to the relay alone.
 * 4. The relay refusing the token (HTTP 401 at the upgrade, as far as the platform tells, or a
 *    close code 4400-4499) is `refused`, not `offline`: a person has to act.
 * 5. A connection not in sync `connectTimeoutMs` after it started connecting is made again.
 */
import { WebsocketProvider } from 'y-websocket';
import type * as Y from 'yjs';
import { relayToken, type Room } from './keys.ts';
import type { SyncTransport, TransportState } from './transport.ts';

/** @default 5 minutes: the relay accepts tokens expiring at most 10 minutes ahead of its clock. */
export const DEFAULT_TOKEN_LIFETIME_MS = 5 * 60_000;
/** @default 1 minute before the token expires. */
export const DEFAULT_REFRESH_BEFORE_MS = 60_000;
/** @default 15 s: a connection not in sync by then is made again (a socket can hang while connecting). */
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;

export interface RelayConnectionOptions {
  /** `ws://` or `wss://` address of the relay (without the room). */
  readonly relayUrl: string;
  readonly room: Pick<Room, 'roomId' | 'authKeys'>;
  readonly doc: Y.Doc;
  /** The WebSocket class: browsers and workers have one; Node 20 needs `ws`'s. */
  readonly WebSocket?: unknown;
  readonly tokenLifetimeMs?: number;
  readonly refreshBeforeMs?: number;
  readonly connectTimeoutMs?: number;
  readonly clock?: () => number;
}

export class RelayConnection implements SyncTransport {
  private current: TransportState = { kind: 'connecting' };
  private readonly listeners = new Set<(s: TransportState) => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private watchdog: ReturnType<typeof setTimeout> | null = null;
  private refreshing = false;
  private closed = false;

  private constructor(private readonly provider: WebsocketProvider, private readonly options: RelayConnectionOptions, private expiresAt: number) {
    provider.on('status', ({ status }) => {
      if (this.refreshing) return; // the deliberate reconnect of a refresh: still in sync (invariant 2)
      if (status === 'connecting') {
        this.set({ kind: 'connecting' });
        this.arm();
      }
      else if (status === 'disconnected') this.set({ kind: 'offline', reason: 'The connection to the relay closed; reconnecting.' });
    });
    provider.on('sync', (synced: boolean) => {
      if (!synced) return;
      this.refreshing = false;
      this.set({ kind: 'synced' });
    });
    provider.on('connection-error', (event: Event) => {
      this.refreshing = false;
      const text = String((event as { message?: unknown }).message ?? '');
      if (/\b401\b/.test(text)) this.set({ kind: 'refused', code: 'relay_unauthorized', message: 'the relay did not accept this device\'s token (is the clock right?).' });
      else this.set({ kind: 'offline', reason: 'The relay cannot be reached; retrying.' });
    });
    provider.on('closed', ({ code, reason }: { code: number; reason: string }) => {
      this.refreshing = false;
      this.set({ kind: 'refused', code: `relay_closed_${code}`, message: `the relay closed the connection for good (${code}${reason ? `: ${reason}` : ''}).` });
    });
    this.schedule();
    this.arm();
  }

  /**
   * Invariant 5: y-websocket times out a connection that went quiet, not one that never opened (a
   * socket can stay CONNECTING, e.g. queued behind another to the same host). One not in sync
   * `connectTimeoutMs` after it started connecting is made again.
   */
  private arm(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.closed) return;
    this.watchdog = setTimeout(() => {
      this.watchdog = null;
      if (this.closed || this.current.kind === 'synced' || this.current.kind === 'refused' || this.current.kind === 'offline') return;
      this.refreshing = true; // stay `connecting` through the deliberate reconnect
      this.provider.disconnect();
      this.provider.connect();
      this.arm();
    }, this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
    (this.watchdog as { unref?: () => void }).unref?.();
  }

  /** Mint a token and connect (the connection starts right away). */
  static async open(options: RelayConnectionOptions): Promise<RelayConnection> {
    const clock = options.clock ?? Date.now;
    const lifetime = options.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
    const expiresAt = clock() + lifetime;
    const token = await relayToken(options.room.authKeys, options.room.roomId, expiresAt);
    const provider = new WebsocketProvider(options.relayUrl, options.room.roomId, options.doc, {
      params: { token },
      disableBc: true,
      ...(options.WebSocket ? { WebSocketPolyfill: options.WebSocket as typeof WebSocket } : {}),
    });
    return new RelayConnection(provider, options, expiresAt);
  }

  get state(): TransportState {
    return this.current;
  }

  onState(listener: (s: TransportState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Disconnect for good: no more reconnects or token refreshes. The doc stays the caller's. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.provider.destroy();
    // The provider made this awareness and does not destroy it; its timer would keep Node alive.
    this.provider.awareness.destroy();
    this.set({ kind: 'offline', reason: 'Sync was turned off.' });
  }

  /** Refresh the token `refreshBeforeMs` before it expires (invariant 2). */
  private schedule(): void {
    const clock = this.options.clock ?? Date.now;
    const before = this.options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    this.timer = setTimeout(() => void this.refresh(), Math.max(0, this.expiresAt - before - clock()));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async refresh(): Promise<void> {
    const clock = this.options.clock ?? Date.now;
    const expiresAt = clock() + (this.options.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS);
    let token: string;
    try {
      token = await relayToken(this.options.room.authKeys, this.options.room.roomId, expiresAt);
    } catch (err) {
      this.set({ kind: 'refused', code: 'token_failed', message: `no relay token could be made (${err instanceof Error ? err.message : String(err)}).` });
      return;
    }
    if (this.closed) return;
    this.expiresAt = expiresAt;
    this.provider.params = { token };
    if (this.provider.wsconnected) {
      this.refreshing = this.current.kind === 'synced';
      this.provider.disconnect();
      this.provider.connect();
    }
    this.schedule();
  }

  private set(s: TransportState): void {
    if (this.closed && s.kind !== 'offline') return;
    this.current = s;
    for (const l of [...this.listeners]) l(s);
  }
}

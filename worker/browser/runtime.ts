/**
 * The kernel runtime of one browser tab: elects one database owner across tabs and gives every
 * tab the same `KingdomApi`. The leader's calls go to THE implementation (createLocalApi, composed
 * by worker/root.ts); this file only adds forwarding for follower tabs.
 *
 * Invariants:
 * 1. Exactly one worker per origin holds the `kingdom:db-owner` Web Lock and opens the database
 *    (the sahpool VFS is exclusive anyway); the lock is released when its tab closes, and a
 *    waiting follower takes over, opening the database with retries.
 * 2. Followers send every call to the leader as an RPC over BroadcastChannel; unanswered RPCs are
 *    resent when a new leader announces itself. Commands carry idempotency keys, so a resend
 *    returns the first result and nothing is applied twice or lost.
 * 3. This tab's subscriptions live here, in the one cursor-based mechanism (kernel/subscriptions.ts):
 *    while following, its page source is the leader (the `page` RPC) and broadcasts feed it; on
 *    becoming leader it is re-targeted to the local event store and fed by local commits, cursors
 *    kept. So there is no gap or duplicate across role changes.
 */
import type { Kernel } from '../kernel/kernel.ts';
import { KernelError, fail, ok, type KernelErrorData, type Result } from '../kernel/errors.ts';
import { Subscriptions, storePageSource, type Page, type PageSource } from '../kernel/subscriptions.ts';
import type { EventFilter } from '../kernel/log/event-store.ts';
import type { EventBatchListener, KingdomApi, RuntimeInfo, SubscribeRequest, VerifyReport } from '../api.ts';
import { classifyStorageError, openBrowserKernel, progressHub, syncHub } from './open-kernel.ts';
import { electionNames, type BusMessage, type RpcMethod } from './bus.ts';
import { uuidv7 } from '../kernel/ids.ts';

const RPC_TIMEOUT_MS = 20_000;
/** The KingdomApi methods a follower may forward to the leader (besides `page`). */
const FORWARDED: ReadonlySet<RpcMethod> = new Set<Exclude<RpcMethod, 'page'>>(['command', 'commandBatch', 'query', 'verify', 'rebuild', 'status', 'ingest', 'exportChain', 'quarantined', 'exportLog', 'exportWorkspace', 'importWorkspace', 'repair', 'sync', 'testProvider']);

interface PendingRpc {
  readonly msg: Extract<BusMessage, { kind: 'rpc' }>;
  readonly resolve: (value: unknown) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface RuntimeOptions {
  /** Force in-memory storage (tests, or `?storage=memory`). */
  readonly memory?: boolean;
  readonly checkpointEvery?: number;
}

export class BrowserRuntime {
  readonly tabId = `tab-${uuidv7()}`;
  private role: RuntimeInfo['role'] = 'follower';
  private storageKind: RuntimeInfo['storage'] = 'opfs';
  private fallbackReason: string | null = null;
  private kernel: Kernel | null = null;
  /** The leader's KingdomApi (createLocalApi over its kernel); null while following. */
  private localApi: KingdomApi | null = null;
  private readonly channel: BroadcastChannel;
  private readonly pending = new Map<string, PendingRpc>();
  private knownHead = 0;
  /** While following: pages come from the leader, `null` when it does not answer (retried on its next broadcast). */
  private readonly leaderSource: PageSource = {
    head: () => this.knownHead,
    page: async (afterSeq, limit, filter) => {
      const r = (await this.rpc('page', [afterSeq, limit, filter])) as Result<Page>;
      if (!r.ok || this.kernel) return null;
      this.knownHead = Math.max(this.knownHead, r.value.headSeq);
      return r.value;
    },
  };
  /** This tab's subscriptions (a listener that fails is dropped, never retried). */
  private readonly subs = new Subscriptions(this.leaderSource);
  private release: () => void = () => {};
  private readonly held = new Promise<void>((resolve) => (this.release = resolve));
  private roleDecided!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.roleDecided = resolve));
  private closed = false;
  private startupError: KernelError | null = null;
  /** Followers become ready when a leader has announced itself (and its storage). */
  private leaderSeen = false;
  private readonly lockName: string;

  constructor(private readonly options: RuntimeOptions = {}) {
    const names = electionNames(options.memory === true, this.tabId);
    this.lockName = names.lock;
    this.channel = new BroadcastChannel(names.channel);
    this.channel.onmessage = (ev: MessageEvent<BusMessage>) => this.onMessage(ev.data);
  }

  /**
   * Join the election: become leader now if the lock is free, else follow and wait for it. Never
   * rejects: a kernel that cannot start (schema_too_new, no crypto.subtle, …) records the error,
   * and every call and `info()` report it instead of hanging.
   */
  async start(): Promise<void> {
    try {
      await this.elect();
    } catch (err) {
      this.failStartup(err);
    }
  }

  private async elect(): Promise<void> {
    if (typeof navigator === 'undefined' || !('locks' in navigator) || !navigator.locks) {
      await this.becomeLeader();
      this.role = 'standalone';
      return;
    }
    const gotIt = await new Promise<boolean>((resolve) => {
      void navigator.locks.request(this.lockName, { ifAvailable: true }, (lock) => {
        if (!lock) {
          resolve(false);
          return undefined;
        }
        resolve(true);
        return this.held;
      });
    });
    if (gotIt) {
      await this.becomeLeader();
      return;
    }
    this.role = 'follower';
    this.post({ kind: 'hello', from: this.tabId });
    void navigator.locks.request(this.lockName, async () => {
      if (this.closed) return;
      try {
        await this.becomeLeader();
      } catch (err) {
        this.failStartup(err);
        return; // release the lock: another tab may be able to open the database
      }
      return this.held;
    });
  }

  private failStartup(err: unknown): void {
    this.startupError = KernelError.from(err);
    console.error('kingdom: the kernel could not start', this.startupError);
    this.release(); // give up the owner lock: no database is open here
    this.roleDecided();
    const error = fail(this.startupError);
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(error);
    }
  }

  readonly api: KingdomApi = {
    command: (cmd) => this.call('command', [cmd]),
    commandBatch: (cmds) => this.call('commandBatch', [cmds]),
    query: <T>(name: string, params?: unknown) => this.call('query', [name, params]) as Promise<Result<T>>,
    // A progress listener cannot cross BroadcastChannel: only the leader reports progress.
    verify: (onProgress) => (this.kernel && onProgress ? this.local('verify', [onProgress]) : this.call('verify', [])) as Promise<Result<VerifyReport>>,
    rebuild: (names) => this.call('rebuild', [names]),
    ingest: (batch) => this.call('ingest', [batch]),
    exportChain: (device, after, limit) => this.call('exportChain', [device, after, limit]),
    quarantined: () => this.call('quarantined', []),
    exportLog: () => this.call('exportLog', []),
    exportWorkspace: (workspaceId, options) => this.call('exportWorkspace', [workspaceId, options]),
    importWorkspace: (file) => this.call('importWorkspace', [file]),
    repair: (action) => this.call('repair', [action]),
    status: () => this.call('status', []),
    subscribe: (listener, req) => this.subscribe(listener, req ?? {}),
    unsubscribe: async (id) => this.unsubscribe(id),
    info: async () => {
      await this.ready;
      const startupError: KernelErrorData | null = this.startupError ? this.startupError.toJSON() : null;
      return { role: this.role, storage: this.storageKind, fallbackReason: this.fallbackReason, tabId: this.tabId, startupError };
    },
    watchProgress: async (listener) => progressHub.watch(listener),
    unwatchProgress: async (id) => progressHub.unwatch(id),
    sync: (action) => this.call('sync', [action]),
    watchSync: async (listener) => syncHub.watch(listener),
    unwatchSync: async (id) => syncHub.unwatch(id),
    // The leader runs it (it holds the keys); a follower's request is forwarded like a query.
    testProvider: (req) => this.call('testProvider', [req]),
    close: () => this.close(),
  };

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subs.closeAll();
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    await (this.localApi ? this.localApi.close() : this.kernel?.close());
    this.kernel = null;
    this.localApi = null;
    this.channel.close();
    this.release();
  }

  // ---- roles ---------------------------------------------------------------------------------

  private async becomeLeader(): Promise<void> {
    const opened = await openBrowserKernel(this.options);
    const kernel = opened.root.kernel;
    if (this.closed) {
      await kernel.close();
      return;
    }
    this.storageKind = opened.storage;
    this.fallbackReason = opened.fallbackReason;
    this.kernel = kernel;
    this.localApi = opened.root.api({ role: 'leader', storage: opened.storage, fallbackReason: opened.fallbackReason, tabId: this.tabId, startupError: null });
    this.role = 'leader';
    // This tab's subscriptions now read the local store, from where each cursor is.
    this.subs.retarget(storePageSource(kernel.store));
    // Every committed event: to follower tabs, and to this tab's subscriptions.
    kernel.subscribe((events) => {
      this.post({ kind: 'events', events, headSeq: events[events.length - 1]!.seq });
      this.subs.publish(events);
    });
    this.knownHead = kernel.status().headSeq;
    this.startupError = null;
    this.roleDecided();
    this.announce();
    // Calls that were waiting for a leader while this tab followed: answer them locally.
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(await this.local(p.msg.method, p.msg.args));
    }
  }

  // ---- calls ---------------------------------------------------------------------------------

  private async call(method: RpcMethod, args: unknown[]): Promise<Result<any>> {
    if (this.closed) return fail(new KernelError('kernel_closed', 'This tab closed its kernel; reload the page.'));
    await this.ready;
    if (this.kernel) return this.local(method, args);
    if (this.startupError) return fail(this.startupError);
    return (await this.rpc(method, args)) as Result<unknown>;
  }

  /** A call this tab answers as the leader: through the one KingdomApi implementation. */
  private async local(method: RpcMethod, args: unknown[]): Promise<Result<unknown>> {
    const api = this.localApi;
    const k = this.kernel;
    if (!api || !k) return fail(new KernelError('not_leader', 'This tab does not own the database.'));
    if (method !== 'page') {
      if (!FORWARDED.has(method)) return fail(new KernelError('invalid_query', `Unknown call ${String(method)}.`));
      const result = await (api[method] as (...a: unknown[]) => Promise<Result<unknown>>)(...args);
      if (method === 'repair' && result.ok && (result.value as { cut: { events: unknown[] } }).cut.events.length > 0) this.rewound(k.store.committedHead.seq);
      return result;
    }
    try {
      const [afterSeq, limit, filter] = args as [number, number, EventFilter];
      if (k.isClosed) return fail(new KernelError('kernel_closed', 'The kernel of the leader tab is closed.'));
      return ok(storePageSource(k.store).page(afterSeq, limit, filter));
    } catch (err) {
      return fail(await classifyStorageError(err));
    }
  }

  private rpc(method: RpcMethod, args: unknown[]): Promise<unknown> {
    return new Promise((resolve) => {
      const msg = { kind: 'rpc', id: uuidv7(), from: this.tabId, method, args } as const;
      const timer = setTimeout(() => {
        this.pending.delete(msg.id);
        resolve(fail(new KernelError('not_leader', `No tab owning the database answered ${method} within ${RPC_TIMEOUT_MS / 1000} s; reload the page.`)));
      }, RPC_TIMEOUT_MS);
      this.pending.set(msg.id, { msg, resolve, timer });
      this.post(msg);
    });
  }

  /** The leader's log was cut back to `headSeq` (repair): this tab's and the followers' cursors follow. */
  private rewound(headSeq: number): void {
    this.knownHead = headSeq;
    this.subs.rewind(headSeq);
    this.subs.resume();
    this.post({ kind: 'rewind', headSeq });
  }

  private onMessage(m: BusMessage): void {
    if (this.closed) return;
    switch (m.kind) {
      case 'hello':
        if (this.kernel) this.announce();
        return;
      case 'leader':
        // A (new) leader: resend everything it may not have seen; idempotency keys make it safe.
        if (this.kernel) return;
        this.storageKind = m.storage;
        this.fallbackReason = m.fallbackReason;
        this.startupError = null;
        if (!this.leaderSeen) {
          this.leaderSeen = true;
          this.roleDecided();
        }
        this.knownHead = Math.max(this.knownHead, m.headSeq);
        for (const p of this.pending.values()) this.post(p.msg);
        this.subs.resume();
        return;
      case 'rpc':
        if (!this.kernel) return;
        void this.local(m.method, m.args).then((result) => this.post({ kind: 'rpc-result', id: m.id, to: m.from, result }));
        return;
      case 'rpc-result': {
        if (m.to !== this.tabId) return;
        const p = this.pending.get(m.id);
        if (!p) return; // answered already (a resend raced the first answer)
        this.pending.delete(m.id);
        clearTimeout(p.timer);
        p.resolve(m.result);
        return;
      }
      case 'events':
        if (this.kernel) return; // leaders deliver from their own kernel
        this.knownHead = Math.max(this.knownHead, m.headSeq);
        this.subs.publish(m.events);
        return;
      case 'rewind':
        if (this.kernel) return;
        this.knownHead = m.headSeq;
        this.subs.rewind(m.headSeq);
        this.subs.resume();
        return;
    }
  }

  // ---- subscriptions -------------------------------------------------------------------------

  private async subscribe(listener: EventBatchListener, req: SubscribeRequest): Promise<Result<number>> {
    await this.ready;
    if (req.fromSeq === undefined && !this.kernel) {
      // Live events only: from the leader's head now, not from what this tab last heard.
      const st = (await this.rpc('status', [])) as Result<{ headSeq: number }>;
      if (!st.ok) return st;
      this.knownHead = Math.max(this.knownHead, st.value.headSeq);
      req = { ...req, fromSeq: st.value.headSeq + 1 };
    }
    try {
      return ok(this.subs.subscribe(listener, req).id);
    } catch (err) {
      return fail(err);
    }
  }

  private unsubscribe(id: number): void {
    this.subs.unsubscribe(id);
  }

  private announce(): void {
    if (!this.kernel) return;
    this.post({
      kind: 'leader', tabId: this.tabId, headSeq: this.kernel.store.committedHead.seq,
      storage: this.storageKind === 'memory' ? 'memory' : 'opfs', fallbackReason: this.fallbackReason,
    });
  }

  private post(m: BusMessage): void {
    if (!this.closed) this.channel.postMessage(m);
  }
}

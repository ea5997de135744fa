/**
 * The one owner of this tab's kernel worker. Views read its `$state.raw` snapshots and call its
 * methods; they never talk to the worker themselves.
 *
 * Invariants:
 * 1. `start()` creates the worker and its Comlink proxy once, and installs the dev hook
 *    `window.kingdomDevHook = { api, ready }` (that proxy, and the first `info()` answer): a
 *    console/test handle (docs/api.md), never used by app code, which calls this client only.
 * 2. Every kernel Result is unwrapped here: callers get a value or `null`, and a failure lands in
 *    `lastError` (in words, with its code and command: ui-error.ts) scoped to the action that caused it. Nothing here throws.
 * 3. Snapshots are replaced, never mutated, so `$state.raw` is enough.
 * 4. `recent` holds the newest RECENT_LIMIT events in seq order, fed by one subscription from
 *    seq 1; seqs only grow (duplicates are dropped), so the log view can tail it.
 * 5. One idempotency key per user action: a retry of the same intent after an error reuses it (the
 *    kernel then answers with the first result if the first try did commit); success forgets it.
 * 6. Projections are re-queried after events that can change them, coalesced so a burst of
 *    batches costs one query per read model at a time.
 * 7. The open workspace (`currentId`) is this device's choice (workspace-scope.ts): every scoped
 *    command and query sent through here gets its workspaceId, and `switchWorkspace` changes it.
 */
import * as Comlink from 'comlink';
import type {
  CommandInput, CommandResult, TypedCommand, TypedIntent, EventEnvelope, KernelStatus, KingdomApi, Project, QueryName, QueryParams, QueryResult,
  KernelErrorData, Refusal, RepairReport, Result, RuntimeInfo, StepProgress, VerifyReport, Workspace,
} from '../../worker/api.ts';
import { kernelWorker } from './kernel-worker.ts';
import { describe, fromKernel, fromThrown, GLOBAL_SCOPE, noKernel, startupError, startupText, unexpected, type UiError } from './ui-error.ts';
import { newKey } from './idempotency.ts';
import { Coalescer } from './coalesce.ts';
import { Inflight } from './inflight.ts';
import { DEFAULT_WORKSPACE_ID, scoped, storedWorkspace, storeWorkspace } from './workspace-scope.ts';

/** Events kept in memory for the live log. */
export const RECENT_LIMIT = 2000;
/** After this long without an answer from the worker, the boot screen says so. */
const SLOW_START_MS = 15_000;
/**
 * How often `info()` is asked again: a tab's role (and, after a takeover, its storage) changes
 * without any event when another tab closes. The call stays inside this tab's worker.
 */
const INFO_POLL_MS = 1_000;

export type Phase = 'starting' | 'ready' | 'failed';
/** A command as the UI sends it: typed by the slices' schemas (CommandMap), without its idempotency key. */
export type CommandIntent = TypedIntent;
export type EventTypeCount = QueryResult<'events.types'>['types'][number];
/** A chain from another device that ingest refused (never applied). */
export type QuarantinedChain = Refusal & { readonly at: string };

export class KernelClient {
  phase = $state.raw<Phase>('starting');
  /** Why the kernel could not start (phase `failed`). */
  fatal = $state.raw<string | null>(null);
  slowStart = $state.raw(false);
  info = $state.raw<RuntimeInfo | null>(null);
  status = $state.raw<KernelStatus | null>(null);
  headSeq = $state.raw(0);
  workspaces = $state.raw<readonly Workspace[]>([]);
  /** The open workspace's id: known before the list loads (this device's stored choice). */
  currentId = $state.raw<string>(storedWorkspace());
  current = $state.raw<Workspace | null>(null);
  projects = $state.raw<readonly Project[]>([]);
  recent = $state.raw<readonly EventEnvelope[]>([]);
  eventTypes = $state.raw<readonly EventTypeCount[]>([]);
  lastError = $state.raw<UiError | null>(null);
  /** Scopes with an action in flight (buttons disable themselves). */
  busy = $state.raw<ReadonlySet<string>>(new Set());

  #api: Comlink.Remote<KingdomApi> | null = null;
  #started = false;
  #pending = new Map<string, { intent: string; key: string }>();
  #refreshing = new Coalescer();
  #knownTypes = new Set<string>();
  #subscription: number | null = null;
  #startFailed: (err: Error) => void = () => {};
  /** Calls to the worker in flight, and the first data load (#connect): src/lib/interactive.ts waits for both. */
  readonly inflight = new Inflight();
  connecting: Promise<void> | null = null;

  /** Create the worker and connect. Safe to call more than once (only the first call counts). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    let ready: Promise<RuntimeInfo>;
    // Settles `ready` with the worker's failure when it dies before answering info().
    const died = new Promise<never>((_, reject) => (this.#startFailed = reject));
    try {
      const worker = kernelWorker((e) => this.#onWorkerError(e), () => this.reportUnexpected('A message from the kernel worker could not be read.'));
      const api = Comlink.wrap<KingdomApi>(worker);
      this.#api = api;
      ready = Promise.race([api.info(), died]);
    } catch (err) {
      ready = Promise.reject(err instanceof Error ? err : new Error(describe(err)));
    }
    window.kingdomDevHook = { api: this.#api, ready };
    ready.catch(() => {}); // the failure is shown below; nobody has to await the debug handle
    const slow = setTimeout(() => (this.slowStart = true), SLOW_START_MS);
    ready.then(
      (info) => {
        clearTimeout(slow);
        if (this.phase === 'failed') return;
        const startup = startupError(info);
        if (startup) {
          this.#fail(startupText(startup));
          return;
        }
        this.info = info;
        this.slowStart = false;
        this.phase = 'ready';
        setInterval(() => void this.#refreshInfo(), INFO_POLL_MS);
        this.connecting = this.#connect();
      },
      (err: unknown) => {
        clearTimeout(slow);
        this.#fail(describe(err));
      },
    );
  }

  // ---- actions -------------------------------------------------------------------------------

  /**
   * Run one user action. `intent` identifies it (same intent = same action, so a retry after an
   * error reuses the idempotency key); `body` gets that key and returns whether it succeeded.
   */
  async act(scope: string, intent: unknown, body: (key: string) => Promise<boolean>): Promise<boolean> {
    if (this.busy.has(scope)) return false;
    const signature = JSON.stringify(intent);
    let pending = this.#pending.get(scope);
    if (!pending || pending.intent !== signature) {
      pending = { intent: signature, key: newKey() };
      this.#pending.set(scope, pending);
    }
    this.clearError();
    this.#setBusy(scope, true);
    try {
      const ok = await body(pending.key);
      if (ok) this.#pending.delete(scope);
      return ok;
    } catch (err) {
      this.lastError = fromThrown(scope, err);
      return false;
    } finally {
      this.#setBusy(scope, false);
    }
  }

  /** One command as one user action. */
  async run(scope: string, cmd: CommandIntent): Promise<CommandResult | null> {
    let out: CommandResult | null = null;
    await this.act(scope, cmd, async (key) => {
      out = await this.command(scope, { ...cmd, idempotencyKey: key });
      return out !== null;
    });
    return out;
  }

  /**
   * Several commands as ONE all-or-nothing batch, as one user action: `build` gets the action's
   * idempotency key and returns the commands (derive each command's key from it).
   */
  async runBatch(scope: string, intent: unknown, build: (key: string) => readonly TypedCommand[]): Promise<CommandResult[] | null> {
    let out: CommandResult[] | null = null;
    await this.act(scope, intent, async (key) => {
      const cmds = build(key);
      out = await this.#call(scope, (api) => api.commandBatch(cmds.map((c) => this.scoped(c))), [...new Set(cmds.map((c) => c.type))].join(', '));
      return out !== null;
    });
    return out;
  }

  /** Send a command (with its key); a failure is recorded under `scope`. */
  async command(scope: string, cmd: TypedCommand): Promise<CommandResult | null> {
    const value = await this.#call(scope, (api) => api.command(this.scoped(cmd)), cmd.type);
    if (value === null && this.lastError?.code === 'version_conflict') this.#refreshDomain();
    return value;
  }

  /**
   * A query typed by the slices' own definitions (QueryMap): params checked, result inferred. The
   * open workspace is added to the params of a workspace-scoped query that names none.
   */
  async query<N extends QueryName>(scope: string, name: N, params?: QueryParams<N>): Promise<QueryResult<N> | null> {
    return this.#call(scope, (api) => api.query(name, scoped('query', name, params ?? {}, this.currentId) as QueryParams<N>) as Promise<Result<QueryResult<N>>>, name);
  }

  /** `cmd` with the open workspace added when it is a scoped command that names none. */
  scoped<C extends CommandInput>(cmd: C): C {
    const payload = scoped('command', cmd.type, cmd.payload, this.currentId);
    return payload === cmd.payload ? cmd : { ...cmd, payload };
  }

  /** Open another workspace on this device: every screen then shows that workspace's data. */
  switchWorkspace(workspaceId: string): void {
    if (workspaceId === this.currentId) return;
    this.currentId = workspaceId;
    storeWorkspace(workspaceId);
    this.current = this.workspaces.find((w) => w.id === workspaceId) ?? null;
    void this.refreshWorkspaces();
  }

  /**
   * Verify the log. `onProgress(checked, total)` follows the event chain page by page (the leader
   * tab only: a follower's verify runs in another tab and reports no progress).
   */
  async verify(scope: string, onProgress?: (checked: number, total: number) => void): Promise<VerifyReport | null> {
    const progress = onProgress ? Comlink.proxy(onProgress) : undefined;
    const report = await this.#withBusy(scope, () => this.#call(scope, (api) => api.verify(progress), 'verify'));
    // A failed verify puts the kernel in recovery mode: the banner follows status().recovery.
    await this.refreshStatus();
    return report;
  }

  /** The integrity problem that keeps the database read-only (recovery mode), or null. */
  get recovery(): KernelErrorData | null {
    return this.status?.recovery ?? null;
  }

  /** Any API call (device sync, the log export, …): its value, or null with the failure in `scope` (busy meanwhile); `what` names it in the error's details. */
  call<T>(scope: string, fn: (api: Comlink.Remote<KingdomApi>) => Promise<Result<T>>, what?: string): Promise<T | null> {
    return this.#withBusy(scope, () => this.#call(scope, fn, what));
  }

  /** The worker's Comlink proxy (null before start): for listeners that cross to the worker. */
  get api(): Comlink.Remote<KingdomApi> | null {
    return this.#api;
  }

  /**
   * Repair the database (audited): `rebuild` re-derives the projections, `cut` cuts the log back
   * to its last verified event and continues under a new device chain. Status and lists are
   * reloaded afterwards; the live log follows a cut by itself (see #onEvents).
   */
  async repair(scope: string, action: 'rebuild' | 'cut'): Promise<RepairReport | null> {
    const report = await this.#withBusy(scope, () => this.#call(scope, (api) => api.repair(action), 'repair'));
    await Promise.all([this.refreshStatus(), this.refreshWorkspaces(), this.refreshEventTypes()]);
    return report;
  }

  /** Watch live step progress (llm tokens); returns the function that stops watching. */
  async watchProgress(listener: (p: StepProgress) => void): Promise<() => void> {
    const api = this.#api;
    if (!api) return () => {};
    const id = await api.watchProgress(Comlink.proxy(listener));
    return () => void api.unwatchProgress(id).catch(() => {});
  }

  async refreshStatus(): Promise<void> {
    await this.#refreshing.run('status', async () => {
      const status = await this.#call(GLOBAL_SCOPE, (api) => api.status(), 'status');
      if (!status) return;
      this.status = status;
      this.headSeq = Math.max(this.headSeq, status.headSeq);
    });
  }

  async refreshEventTypes(): Promise<void> {
    await this.#refreshing.run('types', async () => {
      const r = await this.query(GLOBAL_SCOPE, 'events.types');
      if (!r) return;
      for (const t of r.types) this.#knownTypes.add(t.type);
      this.eventTypes = r.types;
    });
  }

  async refreshWorkspaces(): Promise<void> {
    await this.#refreshing.run('workspaces', async () => {
      const list = await this.query(GLOBAL_SCOPE, 'workspace.list', { includeArchived: false });
      if (list === null) return;
      // The stored choice may name a workspace archived (or never synced) since: fall back to the default.
      const current = list.find((w) => w.id === this.currentId) ?? list.find((w) => w.id === DEFAULT_WORKSPACE_ID) ?? list[0] ?? null;
      if (current && current.id !== this.currentId) {
        this.currentId = current.id;
        storeWorkspace(current.id);
      }
      const projects = current
        ? await this.query(GLOBAL_SCOPE, 'project.list', { workspaceId: current.id, includeArchived: false })
        : [];
      this.workspaces = list;
      this.current = current;
      this.projects = projects ?? [];
    });
  }

  clearError(scope?: string): void {
    if (scope === undefined || this.lastError?.scope === scope) this.lastError = null;
  }

  /** Show an error that belongs to no action (uncaught exceptions, worker messages): `detail` is what was reported, under Details. */
  reportUnexpected(detail: string): void {
    this.lastError = unexpected(GLOBAL_SCOPE, detail);
  }


  // ---- internals -----------------------------------------------------------------------------

  async #connect(): Promise<void> {
    await Promise.all([this.refreshStatus(), this.refreshWorkspaces(), this.refreshEventTypes()]);
    const listener = Comlink.proxy((events: EventEnvelope[]) => this.#onEvents(events));
    // Only the tail the log view keeps: a long log is not streamed through Comlink on every load
    // (older events are paged with events.list).
    const fromSeq = Math.max(1, (this.status?.headSeq ?? 0) - RECENT_LIMIT + 1);
    this.#subscription = await this.#call(GLOBAL_SCOPE, (api) => api.subscribe(listener, { fromSeq, batchSize: 500 }), 'subscribe');
  }

  async #refreshInfo(): Promise<void> {
    const api = this.#api;
    if (!api) return;
    try {
      const next = await api.info();
      const prev = this.info;
      if (!prev || prev.role !== next.role || prev.storage !== next.storage || prev.fallbackReason !== next.fallbackReason) {
        this.info = next;
        void this.refreshStatus();
      }
    } catch (err) {
      this.lastError = fromThrown(GLOBAL_SCOPE, err);
    }
  }

  #onEvents(batch: EventEnvelope[]): void {
    if (batch.length === 0) return;
    const first = batch[0]!.seq;
    const last = this.recent.at(-1)?.seq ?? 0;
    // A subscription never delivers an event twice: a batch that starts at or below what the live
    // log holds means the log was cut back (a repair, perhaps in another tab) and new events took
    // the freed positions. Forget the cut tail.
    const cut = first <= last;
    const kept = cut ? this.recent.filter((e) => e.seq < first) : this.recent;
    if (cut) this.headSeq = first - 1;
    const fresh = batch;
    const merged = [...kept, ...fresh];
    this.recent = merged.length > RECENT_LIMIT ? merged.slice(merged.length - RECENT_LIMIT) : merged;
    this.headSeq = Math.max(this.headSeq, fresh.at(-1)!.seq);
    let domain = false;
    let newType = false;
    for (const e of fresh) {
      if (/^(workspace|project)\./.test(e.type) || e.type === 'kernel.projections_rebuilt') domain = true;
      if (!this.#knownTypes.has(e.type)) newType = true;
    }
    if (domain || cut) this.#refreshDomain();
    if (newType) void this.refreshEventTypes();
    void this.refreshStatus();
  }

  #refreshDomain(): void {
    void this.refreshWorkspaces();
  }

  async #call<T>(scope: string, fn: (api: Comlink.Remote<KingdomApi>) => Promise<Result<T>>, what?: string): Promise<T | null> {
    const api = this.#api;
    if (!api) {
      this.lastError = noKernel(scope, what);
      return null;
    }
    try {
      const r = await this.inflight.track(fn(api));
      if (r.ok) return r.value;
      this.lastError = fromKernel(scope, r.error, what);
      return null;
    } catch (err) {
      this.lastError = fromThrown(scope, err, what);
      return null;
    }
  }

  async #withBusy<T>(scope: string, fn: () => Promise<T | null>): Promise<T | null> {
    if (this.busy.has(scope)) return null;
    this.clearError();
    this.#setBusy(scope, true);
    try {
      return await fn();
    } finally {
      this.#setBusy(scope, false);
    }
  }

  #setBusy(scope: string, on: boolean): void {
    const next = new Set(this.busy);
    if (on) next.add(scope);
    else next.delete(scope);
    this.busy = next;
  }

  #onWorkerError(e: Event): void {
    e.preventDefault();
    const detail = e instanceof ErrorEvent && e.message ? e.message : 'its script could not be loaded or failed while starting';
    const message = `The kernel worker failed: ${detail}.`;
    if (this.phase === 'ready') this.reportUnexpected(message);
    else this.#startFailed(new Error(message));
  }

  #fail(message: string): void {
    this.phase = 'failed';
    this.fatal = message;
  }
}

/** This tab's kernel client. */
export const kernel = new KernelClient();

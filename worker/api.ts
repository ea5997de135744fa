/**
 * The one typed surface of the kernel: the UI reaches it through Comlink, Node code through
 * `openKingdom()` (worker/node/index.ts). Both get exactly this interface.
 *
 * Invariants:
 * 1. Every method resolves with a `Result` (plain data): failures are `{ ok: false, error }` with a
 *    stable `code` from errors.ts; only bugs reject. So errors survive structured cloning intact.
 * 2. Subscriptions deliver batches of events in seq order without gaps or duplicates; resubscribe
 *    with `fromSeq = lastSeenSeq + 1` after a disconnect.
 */
import { KernelError, fail, ok, type KernelErrorData, type Result } from './kernel/errors.ts';
import type { IngestReport, Kernel, KernelStatus, LogExport, RebuildReport, RepairReport, WorkspaceFileExport, WorkspaceImport } from './kernel/kernel.ts';
import type { WireEvent } from './kernel/log/envelope.ts';
import type { IngestInput, Refusal, WireCheckpoint } from './kernel/log/ingest.ts';
import type { CommandInput, CommandResult } from './kernel/commands/envelope.ts';
import type { EventEnvelope } from './kernel/log/envelope.ts';
import type { VerifyReport } from './kernel/log/verify.ts';
import type { EventFilter } from './kernel/log/event-store.ts';
import type { AuditEntry } from './kernel/log/audit.ts';
import type { Checkpoint } from './kernel/log/checkpoint.ts';
import { ProgressHub, type StepProgress } from './engine/progress.ts';
import type { SyncAction, SyncView } from './sync/service.ts';
import type { CodeIndex } from './kernel/code-part.ts';
import type { QueryName, QueryParams, QueryResult } from './api-types.ts';
import type { Workspace } from './domains/workspaces/index.ts';
// The probe (and the LLM wire code it uses) loads only when a connection is tested: not on the first screen.
import type { ProbeOutcome } from './engine/llm/probe.ts';
import { providerTestSchema, type ProviderTestRequest } from './engine/llm/probe-request.ts';
import { zodError } from './kernel/commands/envelope.ts';
import { DEFAULT_WORKSPACE_ID } from './domains/workspaces/default-id.ts';
import type { ProviderConfig } from './domains/providers/index.ts';

export type { StepProgress, ProbeOutcome, ProviderTestRequest };
export type { CommandInput, CommandResult, EventEnvelope, VerifyReport, EventFilter, KernelStatus, RebuildReport, Result, AuditEntry, Checkpoint };
export type { IngestInput, IngestReport, LogExport, RepairReport, Refusal, WireCheckpoint, WireEvent, WorkspaceFileExport, WorkspaceImport };
export type { KernelErrorData, ErrorCode, Json } from './kernel/errors.ts';
export type { SyncAction, SyncView } from './sync/service.ts';
export type { PairingView } from './sync/pairing-session.ts';
export type { QueryMap, QueryName, QueryParams, QueryResult, CommandMap, CommandType, CommandPayload, TypedCommand, TypedIntent } from './api-types.ts';
export type { Workspace, Project, WorkspaceCopy } from './domains/workspaces/index.ts';

export interface SubscribeRequest {
  /** First seq to deliver (inclusive). Omit for live events only. */
  readonly fromSeq?: number;
  readonly filter?: EventFilter;
  readonly batchSize?: number;
}

export type EventBatchListener = (events: EventEnvelope[]) => void | Promise<void>;

/** How this tab's kernel is running. */
export interface RuntimeInfo {
  /** `leader`: this worker owns the database; `follower`: commands go to the tab that does. */
  readonly role: 'leader' | 'follower' | 'standalone';
  /** `opfs`: durable in this browser; `memory`: lost on reload (see `fallbackReason`); `file`: Node. */
  readonly storage: 'opfs' | 'memory' | 'file';
  readonly fallbackReason: string | null;
  readonly tabId: string;
  /** Set when the kernel could not start (e.g. `schema_too_new`); every call then fails with it. */
  readonly startupError: KernelErrorData | null;
}

export interface KingdomApi {
  command(cmd: CommandInput): Promise<Result<CommandResult>>;
  /** Several commands in one transaction: all or nothing. */
  commandBatch(cmds: readonly CommandInput[]): Promise<Result<CommandResult[]>>;
  /** A registered query; params and result are typed by the slices' definitions (QueryMap). */
  query<N extends QueryName>(name: N, params?: QueryParams<N>): Promise<Result<QueryResult<N>>>;
  /** Any query by a name known only at run time (its result is what the caller says). */
  query<T = unknown>(name: string, params?: unknown): Promise<Result<T>>;
  /** Returns a subscription id for `unsubscribe`. */
  subscribe(listener: EventBatchListener, req?: SubscribeRequest): Promise<Result<number>>;
  unsubscribe(id: number): Promise<void>;
  /**
   * Walk both chains and the checkpoints. `onProgress(checked, total)` is called after every page
   * of events (pass `Comlink.proxy(fn)` across the worker boundary; follower tabs get no progress).
   */
  verify(onProgress?: (checked: number, total: number) => void): Promise<Result<VerifyReport>>;
  rebuild(projections?: readonly string[]): Promise<Result<RebuildReport>>;
  /**
   * Take in other devices' events and signed checkpoints (as a relay delivers them): verified per
   * device chain, applied in merge order, parked across gaps, refused and quarantined when a chain
   * does not verify (docs/devices.md). `invalid_events` for a malformed batch; `read_only` in
   * recovery mode.
   */
  ingest(batch: IngestInput): Promise<Result<IngestReport>>;
  /** One device's events and checkpoints after a chain position, as they travel between devices. */
  exportChain(device: string, afterDeviceSeq?: number, limit?: number): Promise<Result<{ events: WireEvent[]; checkpoints: WireCheckpoint[] }>>;
  /** Chains refused by ingest (never applied), oldest first. */
  quarantined(): Promise<Result<(Refusal & { at: string })[]>>;
  /** Everything the database holds, as stored (works in recovery mode): keep it before a repair. */
  exportLog(): Promise<Result<LogExport>>;
  /**
   * One workspace as a file another person opens (`kingdom.workspace/1`, docs/workspace-file.md):
   * its events as stored, the blobs they reference and a manifest signed by this device; gzip
   * unless `gzip: false` (or the platform cannot). `not_found`; `imported_copy` for a copy.
   */
  exportWorkspace(workspaceId: string, options?: { gzip?: boolean }): Promise<Result<WorkspaceFileExport>>;
  /**
   * Open a workspace file (bytes or text, gzip or not): verified entirely first, then imported as
   * a read-only copy in one audited batch; the same file again writes nothing (`alreadyImported`).
   * `invalid_file` or `file_not_verified` (a sentence naming the first broken item), nothing written.
   */
  importWorkspace(file: Uint8Array | ArrayBuffer | string): Promise<Result<WorkspaceImport>>;
  /**
   * Repair a database in recovery mode (or any time), audited: `rebuild` re-derives projections;
   * `cut` cuts the log back to its last verified event, returns what it cut (kept aside too) and
   * continues under a new device chain.
   */
  repair(action: 'rebuild' | 'cut'): Promise<Result<RepairReport>>;
  status(): Promise<Result<KernelStatus>>;
  info(): Promise<RuntimeInfo>;
  /**
   * Live progress of running steps (llm tokens as they stream), from whichever tab runs the
   * engine. Not recorded: the final answer is. Pass `Comlink.proxy(fn)` across the worker boundary.
   */
  watchProgress(listener: (p: StepProgress) => void): Promise<number>;
  unwatchProgress(id: number): Promise<void>;
  /**
   * Device sync (docs/sync.md, "In the app"): do what a person asked and answer with the new view
   * (`{ kind: 'view' }` only reads it). `sync_unavailable` where this host runs no sync service.
   */
  sync(action: SyncAction): Promise<Result<SyncView>>;
  /** Every new sync view, from whichever tab runs sync. Pass `Comlink.proxy(fn)` across the worker boundary. */
  watchSync(listener: (v: SyncView) => void): Promise<number>;
  unwatchSync(id: number): Promise<void>;
  /**
   * "Test connection": one minimal real request to a configured LLM provider through its client
   * (worker/engine/llm/probe.ts), with its stored key. Nothing is recorded. The value says how it
   * went (`ok`, latency, or the failure's kind); `not_found` when there is no such provider.
   */
  testProvider(req: ProviderTestRequest): Promise<Result<ProbeOutcome>>;
  close(): Promise<void>;
}

/** What the API needs of device sync: the SyncService, or its light front (worker/sync/front.ts). */
export interface SyncPort {
  act(action: SyncAction): Promise<SyncView>;
  stop(): Promise<void>;
}

/**
 * THE implementation of KingdomApi, over a kernel this process owns (composed by worker/root.ts).
 * The browser runtime forwards follower tabs' calls to the leader's instance of it.
 * `classifyError` turns a thrown error into the reported one (default: KernelError.from). With
 * `code` (a kernel opened with `lazyCode`), the on-demand code a command or query needs is
 * loaded before it runs (worker/kernel/code-part.ts).
 */
export function createLocalApi(
  kernel: Kernel, info: RuntimeInfo, progress: ProgressHub = new ProgressHub(),
  classifyError?: (err: unknown) => KernelError | Promise<KernelError>,
  sync: { readonly service: SyncPort | null; readonly hub: ProgressHub<SyncView> } = { service: null, hub: new ProgressHub<SyncView>() },
  code?: CodeIndex,
): KingdomApi {
  const subs = new Map<number, { close(): void }>();
  const guard = async <T>(fn: () => T | Promise<T>): Promise<Result<T>> => {
    try {
      return ok(await fn());
    } catch (err) {
      return fail(classifyError ? await classifyError(err) : err);
    }
  };
  return {
    command: (cmd) => guard(async () => {
      await code?.forCommands([cmd]);
      await kernel.checkpointDue();
      return kernel.command(cmd);
    }),
    commandBatch: (cmds) => guard(async () => {
      await code?.forCommands(cmds);
      await kernel.checkpointDue();
      return kernel.commandBatch(cmds);
    }),
    query: <T>(name: string, params?: unknown): Promise<Result<T>> => guard(async () => {
      await code?.forQuery(name);
      return kernel.query(name, params) as T;
    }),
    subscribe: (listener, req = {}) =>
      guard(() => {
        const sub = kernel.subscribe(listener, req);
        subs.set(sub.id, sub);
        return sub.id;
      }),
    unsubscribe: async (id) => {
      subs.get(id)?.close();
      subs.delete(id);
    },
    verify: (onProgress) => guard(() => kernel.verify(onProgress)),
    rebuild: (names) => guard(() => kernel.rebuild(names)),
    ingest: (batch) => guard(() => kernel.ingest(batch)),
    exportChain: (device, after, limit) => guard(() => kernel.exportChain(device, after, limit)),
    quarantined: () => guard(() => kernel.quarantined()),
    exportLog: () => guard(() => kernel.exportLog()),
    exportWorkspace: (workspaceId, options = {}) => guard(() => {
      const w = kernel.query('workspace.get', { workspaceId }) as Workspace | null;
      if (!w) throw new KernelError('not_found', `No workspace ${workspaceId}; list workspaces to pick one to export.`, { workspaceId });
      if (w.imported) {
        throw new KernelError('imported_copy', `"${w.name}" is a copy imported from a file; only the person who has the original can export it (they can send it again).`, { workspaceId });
      }
      return kernel.exportWorkspace({ id: w.id, name: w.name, description: w.description }, options);
    }),
    importWorkspace: (file) => guard(async () => {
      await kernel.checkpointDue();
      return kernel.importWorkspace(file);
    }),
    repair: (action) => guard(() => kernel.repair(action)),
    status: () => guard(() => kernel.status()),
    info: async () => info,
    watchProgress: async (listener) => progress.watch(listener),
    unwatchProgress: async (id) => progress.unwatch(id),
    sync: (action) => guard(() => {
      if (!sync.service) throw new KernelError('sync_unavailable', 'Device sync does not run here (this host starts no sync service).');
      return sync.service.act(action);
    }),
    watchSync: async (listener) => sync.hub.watch(listener),
    unwatchSync: async (id) => sync.hub.unwatch(id),
    testProvider: (req) => guard(() => {
      const parsed = providerTestSchema.safeParse(req);
      if (!parsed.success) throw zodError('invalid_query', 'testProvider', 'params', parsed.error);
      const p = parsed.data;
      const workspaceId = p.workspaceId ?? DEFAULT_WORKSPACE_ID;
      const found = (kernel.query('llm.provider.list', { workspaceId }) as ProviderConfig[]).find((x) => x.id === p.id);
      if (!found) throw new KernelError('not_found', `There is no LLM provider ${p.id} in this workspace.`, { id: p.id, workspaceId });
      // The key is read where the engine reads it (the workspace's secrets) and only sent to the provider.
      const secrets = found.apiKeySecret ? kernel.systemQuery('secret.values', { workspaceId }) as { [name: string]: string } : {};
      const apiKey = found.apiKeySecret ? secrets[found.apiKeySecret] : undefined;
      return import('./engine/llm/probe.ts').then(({ probeProvider }) => probeProvider({ id: found.id, kind: found.kind, baseUrl: found.baseUrl, models: found.models, ...(apiKey ? { apiKey } : {}) },
        { ...(p.model !== undefined ? { model: p.model } : {}), ...(p.timeoutMs !== undefined ? { timeoutMs: p.timeoutMs } : {}) }));
    }),
    close: async () => {
      await sync.service?.stop();
      await kernel.close();
    },
  };
}

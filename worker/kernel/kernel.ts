/**
 * The kernel: one SQLite database, one writer, every change a validated command that appends
 * hash-chained events and updates projections in the same transaction.
 *
 * Invariants:
 * 1. Commands execute synchronously inside one BEGIN IMMEDIATE transaction (events, projection
 *    rows and heads, audit entries, idempotency record), so JS never interleaves two commands.
 * 2. Nothing is published or cached until COMMIT returns; a throw rolls everything back and the
 *    caller gets a KernelError with nothing changed.
 * 3. Validation (envelope, payload schema, idempotency) happens before the transaction begins.
 * 4. Checkpoints are signed after commit (WebCrypto is async) and written in their own
 *    transaction; `close()` waits for them.
 * 5. Recovery mode, verify, rebuild, export and repair are integrity.ts's; ingest is
 *    sync-ingest.ts's, chain export sync.ts's; the class keeps lifecycle, commands, queries and reads.
 */
import './zod-setup.ts';
import { uuidv7 } from './ids.ts';
import { KernelError, type KernelErrorData } from './errors.ts';
import type { OpenedDatabase, StorageAdapter } from './db/adapter.ts';
import type { Sql } from './db/sql.ts';
import { assertSchemaSupported, migrate, SCHEMA_VERSION } from './db/migrations.ts';
import type { EventStore, EventFilter } from './log/event-store.ts';
import type { EventEnvelope, WireEvent } from './log/envelope.ts';
import type { Refusal, WireCheckpoint } from './log/ingest.ts';
import { exportChain as exportChainOf, quarantined as quarantinedChains } from './sync.ts';
import type { IngestReport } from './sync-ingest.ts';
import type { KernelOptions, KernelStatus, RebuildReport, RepairReport } from './types.ts';
import type { LogExport } from './recovery.ts';
import { KernelIntegrity } from './integrity.ts';
import type { AuditLog, AuditEntry } from './log/audit.ts';
import { listCheckpoints, type Checkpoint } from './log/checkpoint.ts';
import { memoryKeyStore, type DeviceKeyPair, type KeyStore } from './log/keys.ts';
import type { VerifyReport } from './log/verify.ts';
import type { ProjectionRegistry } from './projections/registry.ts';
import { Subscriptions, storePageSource, type EventListener, type SubscribeOptions } from './subscriptions.ts';
import type { CommandInput, CommandResult } from './commands/envelope.ts';
import { prepareCommand, type Prepared } from './commands/prepare.ts';
import { executeAll, type Executor } from './commands/execute.ts';
import type { CommandDefinition, QueryDefinition } from './module.ts';
import { runQuery } from './query-run.ts';
import { assemble } from './setup.ts';
import { loadModuleCode } from './code-part.ts';
import { coreModule } from './core-module.ts';
import { logUpgradeRecord, OwnDevice } from './identity.ts';
import type { WorkspaceFileExport, WorkspaceImport } from './workspace-file/format.ts';

export const KERNEL_VERSION = '0.1.0';

export type { IngestReport, KernelOptions, KernelStatus, LogExport, RebuildReport, RepairReport, WorkspaceFileExport, WorkspaceImport };

export class Kernel {
  private closed = false;
  private hostRunners: ReadonlySet<string> = new Set();
  private readonly integrity: KernelIntegrity;
  private readonly closeHooks: (() => void)[] = [];
  private readonly own: OwnDevice;

  private constructor(
    private readonly opened: OpenedDatabase,
    private readonly storage: StorageAdapter,
    readonly sql: Sql,
    readonly store: EventStore,
    readonly audit: AuditLog,
    readonly projections: ProjectionRegistry,
    readonly subscriptions: Subscriptions,
    private readonly commands: ReadonlyMap<string, CommandDefinition>,
    private readonly queries: ReadonlyMap<string, QueryDefinition>,
    private readonly options: Required<Pick<KernelOptions, 'clock' | 'actor' | 'checkpointEvery' | 'appVersion'>>,
    device: string,
    key: DeviceKeyPair,
    keys: KeyStore,
    private readonly openedAt: string,
    private bootMs: number,
  ) {
    this.own = new OwnDevice(sql, keys, device, key, { clock: options.clock, every: options.checkpointEvery, auditHead: () => this.audit.committedHead });
    this.integrity = new KernelIntegrity({
      parts: { sql, store, audit, projections, keys }, own: this.own, clock: options.clock, closed: () => this.closed,
      newId: () => this.newId(), systemBatch: (inputs) => this.systemBatch(inputs), startWriting: () => this.startWriting(),
      rotateDevice: () => this.rotateDevice(), rewind: (seq) => this.subscriptions.rewind(seq),
    });
  }

  /** This database's device: the chain its commands extend. */
  get deviceId(): string {
    return this.own.id;
  }

  /**
   * Open (creating or migrating) the database behind `options.storage`, bring projections to the
   * log head and load this device's signing key (registered in its chain with its first write).
   * Throws `schema_too_new`, `migration_failed`, `storage_*`, or `integrity_error` for a format-1
   * log that does not verify (left unchanged). A database that fails its integrity check at open
   * (anchor, unsigned tail, projections that cannot reach the log head) opens in RECOVERY mode:
   * read-only (`read_only`), while verify, export and an explicit `repair()` work.
   */
  static async open(options: KernelOptions): Promise<Kernel> {
    const started = performance.now();
    const clock = options.clock ?? Date.now;
    const opts = { clock, actor: options.actor ?? 'user', checkpointEvery: options.checkpointEvery ?? 100, appVersion: options.appVersion ?? KERNEL_VERSION };
    const modules = [coreModule, ...(options.modules ?? [])];
    if (!options.lazyCode) await loadModuleCode(modules);
    const opened = await options.storage.open({ preflight: (db) => assertSchemaSupported(db, opts.appVersion) });
    try {
      migrate(opened.db, opts.appVersion);
      const { sql, deviceId, store, audit, projections, queries, commands } = assemble(opened, modules, clock, options.snapshotEvery);
      const keys = options.keys ?? memoryKeyStore();
      const key = (await keys.load(deviceId)) ?? (await keys.create(deviceId));
      const subs = new Subscriptions(storePageSource(store), (err) => console.warn('kingdom: a subscriber failed and was removed', err));
      const kernel = new Kernel(
        opened, options.storage, sql, store, audit, projections, subs,
        commands, queries, opts, deviceId, key, keys, new Date(clock()).toISOString(), 0,
      );
      await kernel.integrity.open();
      kernel.bootMs = performance.now() - started;
      return kernel;
    } catch (err) {
      await opened.close();
      throw KernelError.from(err);
    }
  }

  /** Validate and execute one command: committed and published, or a KernelError with nothing changed. */
  command(input: CommandInput): CommandResult {
    return this.commandBatch([input])[0]!;
  }

  /**
   * Run commands as the system, internal ones included (key registration, rebuild records, the
   * workflow engine's step transitions), in one transaction. For trusted in-worker code only:
   * the API (worker/api.ts) never exposes it.
   */
  systemBatch(inputs: readonly CommandInput[]): CommandResult[] {
    return this.run(inputs, true);
  }

  /** Several commands in ONE transaction, all or none (repeated idempotency keys answer their stored results). */
  commandBatch(inputs: readonly CommandInput[]): CommandResult[] {
    return this.run(inputs, false);
  }

  private run(inputs: readonly CommandInput[], internal: boolean): CommandResult[] {
    this.assertOpen();
    this.integrity.assertWritable();
    let prepared: Prepared[];
    let key: CommandInput | null = null;
    try {
      if (!Array.isArray(inputs)) throw new KernelError('invalid_command', 'commandBatch: expected an array of commands.');
      prepared = inputs.map((input) => prepareCommand(input, internal, this.commands, this.sql, this.options.actor));
      key = this.own.keyOwedBefore(prepared);
      if (key) prepared.unshift(prepareCommand(key, true, this.commands, this.sql, this.options.actor));
    } catch (err) {
      throw KernelError.from(err);
    }
    const results: CommandResult[] = [];
    const published: EventEnvelope[] = [];
    const checkpoint = this.own.checkpointer.pendingCheckpoint;
    try {
      this.sql.transaction(() => {
        if (checkpoint) this.own.checkpointer.insert(checkpoint);
        executeAll(this.executor, prepared, results, published);
        if (published.length > 0) this.projections.setHead(this.store.currentHead.seq);
      });
    } catch (err) {
      this.store.discardPending();
      this.projections.discard();
      this.audit.discard();
      throw KernelError.from(err);
    }
    this.store.commitHead();
    this.audit.commit();
    if (checkpoint) this.own.checkpointer.written(checkpoint);
    if (published.length > 0) {
      this.subscriptions.publish(published);
      this.own.checkpointer.maybeSign(this.ownHead);
    }
    return key ? results.slice(1) : results;
  }

  /**
   * Take in events (and signed checkpoints) written by other devices, as they arrive from a
   * relay: verify each device's chain, apply what extends it in one transaction, park what
   * arrives ahead of a gap, refuse and quarantine a chain that does not verify. Projections end
   * equal to a rebuild in merge order (hlc, device, hash), also when an event sorts before events
   * already applied. Throws `invalid_events` for a malformed batch (nothing applied).
   */
  async ingest(input: unknown): Promise<IngestReport> {
    this.assertOpen();
    this.integrity.assertWritable();
    // Loaded at the first ingest: a device that never syncs never needs it on its first screen.
    const { ingest } = await import('./sync-ingest.ts');
    return ingest(this, this.deviceId, this.options.clock(), input, () => this.assertOpen());
  }

  /** This device's events and checkpoints after its chain position `afterDeviceSeq` (what a relay sends). */
  exportChain(device: string, afterDeviceSeq = 0, limit = 10_000): { events: WireEvent[]; checkpoints: WireCheckpoint[] } {
    this.assertOpen();
    return exportChainOf(this, device, afterDeviceSeq, limit);
  }

  /** Chains refused by ingest, oldest first. */
  quarantined(): (Refusal & { at: string })[] { return quarantinedChains(this.sql); }

  /**
   * For callers that can wait (the API): resolves when a checkpoint that is overdue has been
   * written, so commands sent back to back still get one every `checkpointEvery` or so; null when
   * nothing is overdue (the common case: no await, no cost).
   */
  checkpointDue(): Promise<void> | null {
    if (this.closed || this.integrity.inRecovery) return null;
    return this.own.checkpointer.overdue(this.ownHead);
  }

  /** This device's own chain head. */
  get ownHead() { return this.store.chainHead(this.deviceId); }

  /** Resolves when no checkpoint is being signed or waits to be written, in the caller's turn (sync seals written ones only). */
  async checkpointsSettled(): Promise<void> { while (!this.closed && !this.own.checkpointer.settled) await this.own.checkpointer.settle(); }

  /** Run a registered query against the projections. Throws `unknown_query` / `invalid_query` / `forbidden` (internal). */
  query(name: string, params: unknown = {}): unknown {
    return this.runQuery(name, params, false);
  }

  /** Run a query as the kernel's own code (the engine): internal queries included. */
  systemQuery(name: string, params: unknown = {}): unknown {
    return this.runQuery(name, params, true);
  }

  /** Whether a query of this name is registered (a module may be absent). */
  hasQuery(name: string): boolean { return this.queries.has(name); }

  private runQuery(name: string, params: unknown, internal: boolean): unknown {
    this.assertOpen();
    return runQuery(this.queries, this.sql, name, params, internal, this.hostRunners);
  }

  /**
   * The runners this host's engine provides besides the built-in ones (its custom runners): a
   * task step naming one is not an unknown runner (session.start, workflow.check). Not stored:
   * the engine declares them when it starts and clears them when it stops.
   */
  provideRunners(names: Iterable<string>): void {
    this.hostRunners = new Set(names);
  }

  subscribe(listener: EventListener, options: SubscribeOptions = {}): { id: number; close(): void } {
    this.assertOpen();
    return this.subscriptions.subscribe(listener, options);
  }

  readEvents(afterSeq: number, limit: number, filter?: EventFilter): EventEnvelope[] {
    this.assertOpen();
    return this.store.readAfter(afterSeq, Math.max(1, Math.min(limit, 10_000)), filter);
  }

  /** Verify every chain, checkpoint and the audit chain; a failure puts the kernel in recovery mode. */
  async verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
    this.assertOpen();
    return this.integrity.verify(onProgress);
  }

  /**
   * Drop and replay projections (all by default) from the log in one transaction, and record the
   * rebuild as an audited `kernel.projections_rebuilt` event. Reports digests before and after.
   */
  rebuild(names?: readonly string[]): RebuildReport {
    this.assertOpen();
    return this.integrity.rebuild(names);
  }

  digest(names?: readonly string[]): Record<string, string> { return this.projections.digest(names); }

  auditEntries(afterSeq = 0, limit = 1000): AuditEntry[] { return this.audit.list(afterSeq, limit); }

  checkpoints(afterSeq = 0, limit = 1000): Checkpoint[] { return listCheckpoints(this.sql, afterSeq, limit); }

  /** Sign a checkpoint at the current head now (if the head moved since the last one). */
  async checkpoint(): Promise<Checkpoint | null> {
    this.assertOpen();
    const c = await this.own.checkpointer.now(this.ownHead);
    return c && (listCheckpoints(this.sql, 0, 1_000_000).find((x) => x.device === c.device && x.deviceSeq === c.deviceSeq && x.format === 2) ?? null);
  }

  status(): KernelStatus {
    this.assertOpen();
    const head = this.store.committedHead;
    return {
      kernelVersion: KERNEL_VERSION,
      schemaVersion: SCHEMA_VERSION,
      storage: { kind: this.storage.kind, location: this.storage.location, durable: this.opened.durable, bytes: this.opened.sizeBytes() },
      deviceId: this.deviceId,
      keyId: this.own.key.keyId,
      headSeq: head.seq,
      headHash: head.hash,
      auditSeq: this.audit.headSeq,
      lastCheckpointSeq: this.own.checkpointer.lastSeq,
      deviceSeq: this.ownHead.deviceSeq,
      devices: [...this.store.chainHeads()].map(([device, h]) => ({ device, deviceSeq: h.deviceSeq, hash: h.hash })),
      projections: this.projections.status(),
      openedAt: this.openedAt,
      bootMs: Math.round(this.bootMs * 100) / 100,
      recovery: this.integrity.recovery,
    };
  }

  get isClosed(): boolean { return this.closed; }

  /** Run `fn` first thing in `close()` (the engine stops before the database goes away). */
  onClose(fn: () => void): void { this.closeHooks.push(fn); }

  /** Wait for a pending checkpoint, end subscriptions and release the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const fn of this.closeHooks.splice(0)) fn();
    // Sign the tail: at rest, every event of this device's chain is covered by a checkpoint
    // (never in recovery mode: that would sign what failed the check).
    if (!this.integrity.inRecovery) await this.own.checkpointer.now(this.ownHead).catch((err: unknown) => console.warn('kingdom: signing the tail at close failed', err));
    await this.own.checkpointer.settle();
    this.own.checkpointer.stop();
    this.closed = true;
    this.subscriptions.closeAll();
    this.sql.dispose();
    await this.opened.close();
  }

  private newId(nowMs = this.options.clock()): string {
    // uuid's v7 keeps ids monotonic within one millisecond by its internal sequence.
    return uuidv7(nowMs);
  }

  /** True while the database is in recovery mode (read-only until repaired). */
  get recovery(): KernelErrorData | null { return this.integrity.recovery; }

  /** Everything the database holds, as stored (events, audit, checkpoints); works in recovery mode. */
  exportLog(): LogExport {
    this.assertOpen();
    return this.integrity.exportLog();
  }

  /** One workspace as a signed file (decision 40, docs/workspace-file.md); writes nothing. */
  async exportWorkspace(workspace: { id: string; name: string; description?: string }, options: { gzip?: boolean } = {}): Promise<WorkspaceFileExport> {
    this.assertOpen();
    // Loaded when first used: a workspace file is rare, the first screen never needs its code.
    const { buildWorkspaceFile, encodeWorkspaceFile } = await import('./workspace-file/export.ts');
    const file = await buildWorkspaceFile(this, this.own, workspace, this.options.clock(), KERNEL_VERSION);
    return encodeWorkspaceFile(file, options.gzip ?? true);
  }

  /** Verify a workspace file (bytes or text), then import it as a read-only copy in one audited batch (usable: checked now and again once verified). */
  async importWorkspace(input: unknown): Promise<WorkspaceImport> {
    const usable = (): void => { this.assertOpen(); this.integrity.assertWritable(); };
    usable();
    const { importWorkspaceFile } = await import('./workspace-file/import.ts');
    return importWorkspaceFile(this, input, this.options.clock, usable);
  }

  /**
   * Repair a log that failed verification, explicitly and audited (integrity.ts): `rebuild`
   * re-derives the projections; `cut` moves the events from the first broken one on aside (returned
   * first) and continues under a new device chain. Leaves recovery mode when the log then verifies.
   */
  async repair(action: 'rebuild' | 'cut'): Promise<RepairReport> {
    this.assertOpen();
    return this.integrity.repair(action);
  }

  /** What executing a command writes to and reads from. */
  private get executor(): Executor {
    return {
      sql: this.sql, store: this.store, projections: this.projections, audit: this.audit, device: this.own.id,
      clock: this.options.clock, runners: this.hostRunners, newId: (ms) => this.newId(ms),
    };
  }

  /** Normal mode: a replaced key is registered (a new device's waits for its first write), an upgrade recorded, the head signed. */
  private startWriting(): void {
    const owed = [this.own.keyOwedAtOpen(this.ownHead.deviceSeq), logUpgradeRecord(this.sql)].filter((c) => c !== null);
    if (owed.length > 0) this.systemBatch(owed);
    this.own.checkpointer.maybeSign(this.ownHead);
  }

  /**
   * This database's device ids: the current one and those it continued from after a repair cut
   * (sessions they started still belong here).
   */
  ownDevices(): string[] {
    return this.own.all();
  }

  /** Continue under a new device id and key (after a cut). */
  private async rotateDevice(): Promise<void> {
    await this.own.rotate(`dev-${this.newId()}`);
    this.store.switchDevice(this.own.id);
  }

  private assertOpen(): void {
    if (this.closed) throw new KernelError('kernel_closed', 'The kernel is closed; open it again to continue.');
  }
}

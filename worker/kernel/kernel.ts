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
 */
import './zod-setup.ts';
import { uuidv7 } from './ids.ts';
import { KernelError, type Json } from './errors.ts';
import type { OpenedDatabase, StorageAdapter } from './db/adapter.ts';
import { Sql } from './db/sql.ts';
import { assertSchemaSupported, migrate, SCHEMA_VERSION } from './db/migrations.ts';
import { EventStore, type EventFilter } from './log/event-store.ts';
import type { EventEnvelope, WireEvent } from './log/envelope.ts';
import type { Refusal, WireCheckpoint } from './log/ingest.ts';
import { exportChain as exportChainOf, ingest as ingestEvents, quarantined as quarantinedChains, type IngestReport } from './sync.ts';
import type { KernelOptions, KernelStatus, RebuildReport, RepairReport } from './types.ts';
import { exportLog as exportLogOf, problem, repairLog, type LogExport, type RecoveryParts } from './recovery.ts';
import { AuditLog, type AuditEntry } from './log/audit.ts';
import { listCheckpoints, type Checkpoint } from './log/checkpoint.ts';
import { Checkpointer } from './log/checkpointer.ts';
import { memoryKeyStore, type DeviceKeyPair, type KeyStore } from './log/keys.ts';
import { advisory, verifyLog, type VerifyReport } from './log/verify.ts';
import { ProjectionRegistry } from './projections/registry.ts';
import { Subscriptions, storePageSource, type EventListener, type SubscribeOptions } from './subscriptions.ts';
import type { CommandInput, CommandResult } from './commands/envelope.ts';
import { prepareCommand, type Prepared } from './commands/prepare.ts';
import { executeAll, type Executor } from './commands/execute.ts';
import type { CommandDefinition, QueryDefinition } from './module.ts';
import { builtinQueries } from './builtin-queries.ts';
import { runQuery } from './query-run.ts';
import { collectRegistries, ensureDeviceId, register } from './setup.ts';
import { coreModule, LOG_REPAIR_COMMAND, REBUILT_COMMAND } from './core-module.ts';
import { keyRegistration, logUpgradeRecord, previousDevices, recordNewDevice } from './identity.ts';
import { conflictsProjection, conflictsQuery } from './projections/conflicts.ts';
import type { KernelErrorData } from './errors.ts';

export const KERNEL_VERSION = '0.1.0';

export type { IngestReport, LogExport };
export type { KernelOptions, KernelStatus, RebuildReport, RepairReport };

export class Kernel {
  private closed = false;
  private checkpointer: Checkpointer;
  private recoveryError: KernelError | null = null;
  /** Device ids this database continued from after repair cuts (meta.previous_devices). */
  private previousDevices: string[];
  private readonly closeHooks: (() => void)[] = [];

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
    private device: string,
    private key: DeviceKeyPair,
    private readonly keys: KeyStore,
    private readonly openedAt: string,
    private bootMs: number,
  ) {
    this.checkpointer = this.makeCheckpointer();
    this.previousDevices = previousDevices(sql);
  }

  /** This database's device: the chain its commands extend. */
  get deviceId(): string {
    return this.device;
  }

  private makeCheckpointer(): Checkpointer {
    const device = this.device;
    return new Checkpointer(this.sql, this.key, device, this.options.clock, this.options.checkpointEvery, () => this.audit.committedHead,
      (a) => this.keys.saveAnchor(device, a));
  }

  /**
   * Open (creating or migrating) the database behind `options.storage`, bring projections to the
   * log head and make sure this device has a registered signing key.
   * Throws `schema_too_new`, `migration_failed`, `storage_*`, or `integrity_error` for a format-1
   * log that does not verify (left unchanged). A database that fails its integrity check at open
   * (anchor, unsigned tail, projections that cannot reach the log head) opens in RECOVERY mode:
   * read-only (`read_only`), while verify, export and an explicit `repair()` work.
   */
  static async open(options: KernelOptions): Promise<Kernel> {
    const started = performance.now();
    const clock = options.clock ?? Date.now;
    const opts = {
      clock,
      actor: options.actor ?? 'user',
      checkpointEvery: options.checkpointEvery ?? 100,
      appVersion: options.appVersion ?? KERNEL_VERSION,
    };
    const modules = [coreModule, ...(options.modules ?? [])];
    const { commands, events, queries } = collectRegistries(modules);
    const opened = await options.storage.open({ preflight: (db) => assertSchemaSupported(db, opts.appVersion) });
    try {
      const sql = new Sql(opened.db, opened.sqlite3);
      migrate(opened.db, opts.appVersion);
      const deviceId = ensureDeviceId(sql);
      const store = new EventStore(sql, events, deviceId, clock);
      const audit = new AuditLog(sql);
      for (const q of [...builtinQueries(store, audit, sql), conflictsQuery]) register(queries, q.name, q, 'kernel');
      const projections = new ProjectionRegistry(sql, [conflictsProjection(events), ...modules.flatMap((m) => m.projections ?? [])], options.snapshotEvery);
      const keys = options.keys ?? memoryKeyStore();
      const key = (await keys.load(deviceId)) ?? (await keys.create(deviceId));
      const subs = new Subscriptions(storePageSource(store), (err) => console.warn('kingdom: a subscriber failed and was removed', err));
      const kernel = new Kernel(
        opened, options.storage, sql, store, audit, projections, subs,
        commands, queries, opts, deviceId, key, keys, new Date(clock()).toISOString(), 0,
      );
      kernel.recoveryError = await problem(kernel.parts, deviceId);
      if (!kernel.recoveryError) kernel.startWriting();
      else console.warn('kingdom: the database failed its integrity check and opened read-only (recovery mode)', kernel.recoveryError);
      kernel.bootMs = performance.now() - started;
      return kernel;
    } catch (err) {
      await opened.close();
      throw KernelError.from(err);
    }
  }

  /**
   * Validate and execute one command. On success everything it appended is committed and
   * published; on failure nothing changed and a KernelError is thrown.
   */
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

  /**
   * Execute several commands in ONE transaction: all commit or none do. Repeats of earlier
   * idempotency keys return their stored results. Used for imports and batched appends.
   */
  commandBatch(inputs: readonly CommandInput[]): CommandResult[] {
    return this.run(inputs, false);
  }

  private run(inputs: readonly CommandInput[], internal: boolean): CommandResult[] {
    this.assertOpen();
    this.assertWritable();
    let prepared: Prepared[];
    try {
      if (!Array.isArray(inputs)) throw new KernelError('invalid_command', 'commandBatch: expected an array of commands.');
      prepared = inputs.map((input) => prepareCommand(input, internal, this.commands, this.sql, this.options.actor));
    } catch (err) {
      throw KernelError.from(err);
    }
    const results: CommandResult[] = [];
    const published: EventEnvelope[] = [];
    const checkpoint = this.checkpointer.pendingCheckpoint;
    try {
      this.sql.transaction(() => {
        if (checkpoint) this.checkpointer.insert(checkpoint);
        executeAll(this.executor, prepared, results, published);
        if (published.length > 0) this.projections.setHead(this.store.currentHead.seq);
      });
    } catch (err) {
      this.store.discardPending();
      this.audit.discard();
      throw KernelError.from(err);
    }
    this.store.commitHead();
    this.audit.commit();
    if (checkpoint) this.checkpointer.written(checkpoint);
    if (published.length > 0) {
      this.subscriptions.publish(published);
      this.checkpointer.maybeSign(this.ownHead);
    }
    return results;
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
    this.assertWritable();
    return ingestEvents(this, this.deviceId, this.options.clock(), input, () => this.assertOpen());
  }

  /** This device's events and checkpoints after its chain position `afterDeviceSeq` (what a relay sends). */
  exportChain(device: string, afterDeviceSeq = 0, limit = 10_000): { events: WireEvent[]; checkpoints: WireCheckpoint[] } {
    this.assertOpen();
    return exportChainOf(this, device, afterDeviceSeq, limit);
  }

  /** Chains refused by ingest, oldest first. */
  quarantined(): (Refusal & { at: string })[] {
    return quarantinedChains(this.sql);
  }

  /**
   * For callers that can wait (the API): resolves when a checkpoint that is overdue has been
   * written, so commands sent back to back still get one every `checkpointEvery` or so; null when
   * nothing is overdue (the common case: no await, no cost).
   */
  checkpointDue(): Promise<void> | null {
    if (this.closed || this.recoveryError) return null;
    return this.checkpointer.overdue(this.ownHead);
  }

  /** This device's own chain head. */
  get ownHead() {
    return this.store.chainHead(this.deviceId);
  }

  /** Run a registered query against the projections. Throws `unknown_query` / `invalid_query` / `forbidden` (internal). */
  query(name: string, params: unknown = {}): unknown {
    return this.runQuery(name, params, false);
  }

  /** Run a query as the kernel's own code (the engine): internal queries included. */
  systemQuery(name: string, params: unknown = {}): unknown {
    return this.runQuery(name, params, true);
  }

  /** Whether a query of this name is registered (a module may be absent). */
  hasQuery(name: string): boolean {
    return this.queries.has(name);
  }

  private runQuery(name: string, params: unknown, internal: boolean): unknown {
    this.assertOpen();
    return runQuery(this.queries, this.sql, name, params, internal);
  }

  subscribe(listener: EventListener, options: SubscribeOptions = {}): { id: number; close(): void } {
    this.assertOpen();
    return this.subscriptions.subscribe(listener, options);
  }

  readEvents(afterSeq: number, limit: number, filter?: EventFilter): EventEnvelope[] {
    this.assertOpen();
    return this.store.readAfter(afterSeq, Math.max(1, Math.min(limit, 10_000)), filter);
  }

  async verify(onProgress?: (checked: number, total: number) => void): Promise<VerifyReport> {
    this.assertOpen();
    await this.checkpointer.settle();
    const anchor = await this.keys.loadAnchor(this.deviceId);
    const report = await verifyLog(this.sql, { device: this.deviceId, anchor, ...(onProgress ? { onProgress: advisory(onProgress) } : {}) });
    if (!report.ok && !this.recoveryError && !this.closed) {
      // Writing on would sign what failed: stop accepting changes until it is repaired.
      this.recoveryError = new KernelError('integrity_error',
        `The log failed verification: ${report.broken!.message} It is read-only now: export everything, then repair.`,
        { ...report.broken! });
      this.checkpointer.stop();
    }
    return report;
  }

  /**
   * Drop and replay projections (all by default) from the log in one transaction, and record the
   * rebuild as an audited `kernel.projections_rebuilt` event. Reports digests before and after.
   */
  rebuild(names?: readonly string[]): RebuildReport {
    this.assertOpen();
    if (this.recoveryError) {
      throw new KernelError('read_only', 'The database is in recovery mode: rebuild through repair("rebuild"), which records the repair.', { problem: this.recoveryError.toJSON() as unknown as Json });
    }
    const started = performance.now();
    const before = this.projections.digest(names);
    try {
      this.projections.rebuild(this.store, names);
    } catch (err) {
      throw KernelError.from(err);
    }
    const after = this.projections.digest(names);
    const report = Object.keys(before).map((name) => ({
      name, before: before[name]!, after: after[name]!, identical: before[name] === after[name],
    }));
    this.systemBatch([{
      type: REBUILT_COMMAND,
      payload: { projections: report.map((r) => ({ name: r.name, digest: r.after, identical: r.identical })) },
      idempotencyKey: `rebuild:${this.newId()}`,
      actor: 'system',
    }]);
    return { projections: report, events: this.store.committedHead.seq, durationMs: Math.round(performance.now() - started) };
  }

  digest(names?: readonly string[]): Record<string, string> {
    return this.projections.digest(names);
  }

  auditEntries(afterSeq = 0, limit = 1000): AuditEntry[] {
    return this.audit.list(afterSeq, limit);
  }

  checkpoints(afterSeq = 0, limit = 1000): Checkpoint[] {
    return listCheckpoints(this.sql, afterSeq, limit);
  }

  /** Sign a checkpoint at the current head now (if the head moved since the last one). */
  async checkpoint(): Promise<Checkpoint | null> {
    this.assertOpen();
    const c = await this.checkpointer.now(this.ownHead);
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
      keyId: this.key.keyId,
      headSeq: head.seq,
      headHash: head.hash,
      auditSeq: this.audit.headSeq,
      lastCheckpointSeq: this.checkpointer.lastSeq,
      deviceSeq: this.ownHead.deviceSeq,
      devices: [...this.store.chainHeads()].map(([device, h]) => ({ device, deviceSeq: h.deviceSeq, hash: h.hash })),
      projections: this.projections.status(),
      openedAt: this.openedAt,
      bootMs: Math.round(this.bootMs * 100) / 100,
      recovery: this.recoveryError ? this.recoveryError.toJSON() : null,
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
    if (!this.recoveryError) await this.checkpointer.now(this.ownHead).catch((err: unknown) => console.warn('kingdom: signing the tail at close failed', err));
    await this.checkpointer.settle();
    this.checkpointer.stop();
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
  get recovery(): KernelErrorData | null {
    return this.recoveryError ? this.recoveryError.toJSON() : null;
  }

  /**
   * Everything the database holds, as stored (events with their hashes, audit, checkpoints), for
   * a person to keep before a repair or at any time. Works in recovery mode.
   */
  exportLog(): LogExport {
    this.assertOpen();
    return exportLogOf(this.parts, this.device, this.options.clock());
  }

  /**
   * Repair a log that failed verification, explicitly and audited; nothing is deleted silently.
   * `rebuild`: re-derive every projection from the log (a projection table that was damaged or
   * cannot reach the log head). `cut`: cut the log back to its last verified event: the events
   * from the first broken one on, the audit entries and checkpoints that go with them, are moved
   * aside (tables *_cut) and returned first, projections are rebuilt, and this device continues
   * under a new device chain (other devices may hold the cut events; a new chain never forks
   * theirs). Either way a `kernel.log_repaired` event records it. Leaves recovery mode when the
   * whole log then verifies.
   */
  async repair(action: 'rebuild' | 'cut'): Promise<RepairReport> {
    this.assertOpen();
    if (action !== 'rebuild' && action !== 'cut') {
      throw new KernelError('invalid_command', `repair: unknown action "${String(action)}"; use "rebuild" or "cut".`, { action: String(action) });
    }
    await this.checkpointer.settle();
    const problem = this.recoveryError?.message ?? null;
    const repairId = `repair-${this.newId()}`;
    const { cut, previousDevice, still } = await repairLog({
      parts: this.parts, device: () => this.device, rotateDevice: () => this.rotateDevice(),
      rewind: (seq) => this.subscriptions.rewind(seq),
    }, action, repairId);
    this.recoveryError = still;
    if (!still) {
      this.checkpointer.stop();
      this.checkpointer = this.makeCheckpointer();
      this.startWriting();
      this.systemBatch([{
        type: LOG_REPAIR_COMMAND,
        payload: { action, repairId, problem, cut: { events: cut.events.length, audit: cut.audit.length, checkpoints: cut.checkpoints.length }, previousDevice },
        idempotencyKey: repairId,
        actor: 'system',
      }]);
      await this.checkpointer.now(this.ownHead);
      await this.checkpointer.settle();
    }
    return { action, recovered: !still, recovery: still ? still.toJSON() : null, cut, device: this.device, previousDevice };
  }

  /** What executing a command writes to and reads from. */
  private get executor(): Executor {
    return {
      sql: this.sql, store: this.store, projections: this.projections, audit: this.audit, device: this.device,
      clock: this.options.clock, newId: (ms) => this.newId(ms),
    };
  }

  /** What recovery reads and repairs: the log, the audit chain, projections and the key store. */
  private get parts(): RecoveryParts {
    return { sql: this.sql, store: this.store, audit: this.audit, projections: this.projections, keys: this.keys };
  }

  /** Normal mode: this device's key is in its chain, an upgrade is recorded, the head gets signed. */
  private startWriting(): void {
    const owed = [keyRegistration(this.sql, this.device, this.key), logUpgradeRecord(this.sql)].filter((c) => c !== null);
    if (owed.length > 0) this.systemBatch(owed);
    this.checkpointer.maybeSign(this.ownHead);
  }

  /**
   * This database's device ids: the current one and those it continued from after a repair cut
   * (sessions they started still belong here).
   */
  ownDevices(): string[] {
    return [this.device, ...this.previousDevices];
  }

  /** Continue under a new device id and key (after a cut). */
  private async rotateDevice(): Promise<void> {
    const id = `dev-${this.newId()}`;
    const previous = this.ownDevices();
    recordNewDevice(this.sql, id, previous);
    this.checkpointer.stop();
    this.previousDevices = previous;
    this.device = id;
    this.store.switchDevice(id);
    this.key = (await this.keys.load(id)) ?? (await this.keys.create(id));
    this.checkpointer = this.makeCheckpointer();
  }

  private assertWritable(): void {
    if (this.recoveryError) {
      throw new KernelError('read_only',
        `The database is in recovery mode and accepts no changes: ${this.recoveryError.message}`,
        { problem: this.recoveryError.toJSON() as unknown as Json });
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new KernelError('kernel_closed', 'The kernel is closed; open it again to continue.');
  }
}

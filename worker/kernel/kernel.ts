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
import { parseIngest, planIngest, type Refusal, type WireCheckpoint } from './log/ingest.ts';
import { AuditLog, type AuditEntry } from './log/audit.ts';
import { insertCheckpoint, listCheckpoints, type Checkpoint } from './log/checkpoint.ts';
import { Checkpointer } from './log/checkpointer.ts';
import { memoryKeyStore, type DeviceKeyPair, type KeyStore } from './log/keys.ts';
import { advisory, verifyLog, type VerifyReport } from './log/verify.ts';
import { ProjectionRegistry, type ProjectionStatus } from './projections/registry.ts';
import { Subscriptions, storePageSource, type EventListener, type SubscribeOptions } from './subscriptions.ts';
import { zodError, type CommandInput, type CommandResult } from './commands/envelope.ts';
import { checkVersion, prepareCommand, reusedKey, type Prepared } from './commands/prepare.ts';
import type { CommandDefinition, DecideContext, KernelModule, QueryDefinition } from './module.ts';
import { builtinQueries } from './builtin-queries.ts';
import { collectRegistries, ensureDeviceId, register } from './setup.ts';
import { coreModule, KEY_REGISTER_COMMAND, LOG_REPAIR_COMMAND, LOG_UPGRADE_COMMAND, REBUILT_COMMAND } from './core-module.ts';
import { checkAtOpen } from './log/open-check.ts';
import { conflictsProjection, conflictsQuery } from './projections/conflicts.ts';
import { cutLog, restoreAppendOnly } from './log/repair.ts';
import type { KernelErrorData } from './errors.ts';
import type { Row } from './db/sql.ts';

export const KERNEL_VERSION = '0.1.0';

export interface KernelOptions {
  readonly storage: StorageAdapter;
  /** Where the device's private signing key lives (default: memory, lost on close). */
  readonly keys?: KeyStore;
  /** Domain modules; the kernel's own core module is always added first. */
  readonly modules?: readonly KernelModule[];
  /** Epoch-ms clock (tests inject a fake one). */
  readonly clock?: () => number;
  /** Default actor for commands that name none. */
  readonly actor?: string;
  /** Sign a checkpoint whenever this many events were appended since the last one (default 100). */
  readonly checkpointEvery?: number;
  readonly appVersion?: string;
}

export interface KernelStatus {
  readonly kernelVersion: string;
  readonly schemaVersion: number;
  readonly storage: { kind: string; location: string; durable: boolean; bytes: number };
  readonly deviceId: string;
  readonly keyId: string;
  readonly headSeq: number;
  readonly headHash: string;
  readonly auditSeq: number;
  /** Position in this device's chain of its newest checkpoint. */
  readonly lastCheckpointSeq: number;
  /** This device's position in its own chain. */
  readonly deviceSeq: number;
  /** Devices whose events are here (this one included), with their chain heads. */
  readonly devices: readonly { device: string; deviceSeq: number; hash: string }[];
  readonly projections: readonly ProjectionStatus[];
  readonly openedAt: string;
  readonly bootMs: number;
  /** Set when the database failed its integrity check at open: read-only until repaired. */
  readonly recovery: KernelErrorData | null;
}

export interface IngestReport {
  /** Events of other devices applied now (parked ones whose gap filled included). */
  readonly applied: number;
  /** Events already here (sent again): nothing changed for them. */
  readonly duplicates: number;
  /** Events that verified but wait for an earlier event of their chain. */
  readonly parked: number;
  /** Signed checkpoints of other devices verified and stored. */
  readonly checkpoints: number;
  /** Chains refused and quarantined (code `chain_refused`), never applied. */
  readonly refused: readonly Refusal[];
  /** True when an applied event sorted before events already here (projections were re-derived). */
  readonly reordered: boolean;
  readonly headSeq: number;
  readonly durationMs: number;
}

export interface RepairReport {
  readonly action: 'rebuild' | 'cut';
  /** True when the log verifies and the kernel accepts commands again. */
  readonly recovered: boolean;
  /** The problem that is left (null when recovered). */
  readonly recovery: KernelErrorData | null;
  /** What was cut off the log, exactly as it was stored (kept aside in *_cut tables too). */
  readonly cut: { readonly events: Row[]; readonly audit: Row[]; readonly checkpoints: Row[] };
  /** A cut continues this device under a new chain (other devices may hold the cut events). */
  readonly device: string;
  readonly previousDevice: string | null;
}

/** Everything the database holds, as stored: what recovery mode lets a person take away. */
export interface LogExport {
  readonly format: 'kingdom.log/2';
  readonly exportedAt: string;
  readonly device: string;
  readonly events: EventEnvelope[];
  readonly audit: AuditEntry[];
  readonly checkpoints: Checkpoint[];
}

export interface RebuildReport {
  readonly projections: readonly { name: string; before: string; after: string; identical: boolean }[];
  readonly events: number;
  readonly durationMs: number;
}

export class Kernel {
  private closed = false;
  private checkpointer: Checkpointer;
  private recoveryError: KernelError | null = null;
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
      const projections = new ProjectionRegistry(sql, [conflictsProjection(events), ...modules.flatMap((m) => m.projections ?? [])]);
      const keys = options.keys ?? memoryKeyStore();
      const key = (await keys.load(deviceId)) ?? (await keys.create(deviceId));
      const subs = new Subscriptions(storePageSource(store), (err) => console.warn('kingdom: a subscriber failed and was removed', err));
      const kernel = new Kernel(
        opened, options.storage, sql, store, audit, projections, subs,
        commands, queries, opts, deviceId, key, keys, new Date(clock()).toISOString(), 0,
      );
      kernel.recoveryError = await kernel.integrityAtOpen();
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
    const seenKeys = new Map<string, number>();
    const checkpoint = this.checkpointer.pendingCheckpoint;
    try {
      this.sql.transaction(() => {
        if (checkpoint) this.checkpointer.insert(checkpoint);
        for (const p of prepared) {
          if (p.replay) {
            results.push(p.replay);
            continue;
          }
          if (p.key !== undefined && seenKeys.has(p.key)) {
            const first = prepared[seenKeys.get(p.key)!]!;
            if (first.requestHash !== p.requestHash) throw reusedKey(p.key, p.def.type);
            results.push({ ...results[seenKeys.get(p.key)!]!, replayed: true });
            continue;
          }
          if (p.key !== undefined) seenKeys.set(p.key, results.length);
          const { result, events } = this.execute(p);
          published.push(...events);
          results.push(result);
        }
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
    const started = performance.now();
    const { events, checkpoints } = parseIngest(input);
    const plan = await planIngest(this.sql, this.store, this.deviceId, this.options.clock(), events, checkpoints);
    this.assertOpen();
    const accept = [...plan.accept].sort((a, b) => (a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.device < b.device ? -1 : a.device > b.device ? 1 : a.hash < b.hash ? -1 : 1));
    const published: EventEnvelope[] = [];
    const maxOrdBefore = this.store.maxOrd;
    let reordered = false;
    const now = new Date(this.options.clock()).toISOString();
    try {
      this.sql.transaction(() => {
        for (const r of plan.refused) {
          this.sql.run('INSERT INTO quarantine (device, device_seq, reason, message, event, at) VALUES (?,?,?,?,?,?)',
            [r.device, r.deviceSeq, r.reason, r.message, JSON.stringify(r.event), now]);
        }
        for (const e of plan.park) {
          this.sql.run('INSERT OR IGNORE INTO ingest_parked (device, device_seq, event) VALUES (?,?,?)', [e.device, e.deviceSeq, JSON.stringify(e)]);
        }
        for (const u of plan.unpark) this.sql.run('DELETE FROM ingest_parked WHERE device = ? AND device_seq = ?', [u.device, u.deviceSeq]);
        for (const e of accept) published.push(this.store.insertForeign(e as WireEvent));
        reordered = published.length > 0 && published.some((e) => `${e.hlc}|${e.device}|${e.hash}` < maxOrdBefore);
        if (reordered) {
          // Roll the projections back to before the earliest affected position and re-apply in
          // merge order: re-derived from the log, so they equal a fresh rebuild.
          this.projections.rebuild(this.store);
        } else {
          for (const e of published) this.projections.apply(e);
        }
        for (const c of plan.checkpoints) insertCheckpoint(this.sql, c);
        if (published.length > 0) this.projections.setHead(this.store.currentHead.seq);
      });
    } catch (err) {
      this.store.discardPending();
      throw KernelError.from(err);
    }
    this.store.commitHead();
    if (published.length > 0) this.subscriptions.publish(published);
    return {
      applied: published.length, duplicates: plan.duplicates, parked: plan.park.length, checkpoints: plan.checkpoints.length,
      refused: plan.refused.map(({ event: _e, ...r }) => r), reordered,
      headSeq: this.store.committedHead.seq, durationMs: Math.round(performance.now() - started),
    };
  }

  /** This device's events and checkpoints after its chain position `afterDeviceSeq` (what a relay sends). */
  exportChain(device: string, afterDeviceSeq = 0, limit = 10_000): { events: WireEvent[]; checkpoints: WireCheckpoint[] } {
    this.assertOpen();
    const rows = this.sql.all('SELECT seq FROM events WHERE device = ? AND device_seq > ? ORDER BY device_seq LIMIT ?', [device, afterDeviceSeq, limit]);
    const events = rows.map((r) => {
      const { seq: _s, streamSeq: _ss, ...w } = this.store.readStored(Number(r['seq']))!;
      return w;
    });
    const last = events.length > 0 ? events[events.length - 1]!.deviceSeq : afterDeviceSeq;
    const checkpoints = listCheckpoints(this.sql, 0, 100_000)
      .filter((c) => c.device === device && c.deviceSeq > afterDeviceSeq && c.deviceSeq <= last)
      .flatMap(({ seq: _s, format, ...c }) => (format === 2 ? [{ ...c, format }] : []));
    return { events, checkpoints };
  }

  /** Chains refused by ingest, oldest first. */
  quarantined(): (Refusal & { at: string })[] {
    return this.sql.all('SELECT device, device_seq, reason, message, at FROM quarantine ORDER BY id').map((r) => ({
      code: 'chain_refused' as const, device: String(r['device']), deviceSeq: Number(r['device_seq']), reason: String(r['reason']), message: String(r['message']), at: String(r['at']),
    }));
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
    const def = this.queries.get(name);
    if (!def) {
      throw new KernelError('unknown_query', `Unknown query "${name}". Known queries: ${[...this.queries.keys()].filter((q) => !this.queries.get(q)!.internal).sort().join(', ')}.`, { name });
    }
    if (def.internal && !internal) throw new KernelError('forbidden', `The query ${name} is internal to the kernel.`, { name });
    const parsed = def.schema.safeParse(params ?? {});
    if (!parsed.success) throw zodError('invalid_query', name, 'params', parsed.error);
    return def.run(this.sql, parsed.data, { query: (n, p) => this.runQuery(n, p ?? {}, internal) });
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

  private execute(p: Prepared): { result: CommandResult; events: EventEnvelope[] } {
    const { def } = p;
    let target = def.target?.(p.payload) ?? null;
    if (target !== null) checkVersion(this.store, target, p.expectedVersion, def.type);
    const state = def.load ? def.load(this.sql, p.payload) : undefined;
    const nowMs = this.options.clock();
    const ctx: DecideContext = {
      now: new Date(nowMs).toISOString(), nowMs, actor: p.actor, device: this.deviceId,
      newId: () => this.newId(nowMs),
    };
    const decision = def.decide(state, p.payload, ctx);
    if (target === null && decision.events.length > 0) {
      target = decision.events[0]!.stream;
      checkVersion(this.store, target, p.expectedVersion, def.type);
    }
    const appended: EventEnvelope[] = [];
    for (const ne of decision.events) {
      const edef = this.store.definition(ne.type);
      if (!edef) throw new KernelError('internal', `${def.type} produced unregistered event type ${ne.type}.`);
      const checked = edef.schema.safeParse(ne.payload);
      if (!checked.success) throw zodError('internal', `${def.type} produced an invalid ${ne.type}`, 'payload', checked.error);
      const e = this.store.append({
        id: ctx.newId(), stream: ne.stream, type: ne.type, v: edef.version, at: ctx.now,
        actor: p.actor, payload: ne.payload,
      });
      this.projections.apply(e);
      if (def.audit) this.audit.append(def.audit, e, ctx.newId());
      appended.push(e);
    }
    decision.store?.(this.sql);
    const result: CommandResult = {
      type: def.type,
      value: decision.value,
      events: appended.map((e) => ({ id: e.id, seq: e.seq, stream: e.stream, streamSeq: e.streamSeq, type: e.type })),
      streamVersion: target === null ? 0 : this.store.streamVersion(target),
      replayed: false,
    };
    if (def.mutates && p.key !== undefined) {
      const { replayed: _r, ...stored } = result;
      this.sql.run('INSERT INTO idempotency (key, command_type, request_hash, result, at) VALUES (?,?,?,?,?)',
        [p.key, def.type, p.requestHash, JSON.stringify(stored), ctx.now]);
    }
    return { result, events: appended };
  }

  private newId(nowMs = this.options.clock()): string {
    // uuid's v7 keeps ids monotonic within one millisecond by its internal sequence.
    return uuidv7(nowMs);
  }

  private ensureKeyRegistered(): void {
    const known = this.sql.value(
      "SELECT 1 FROM events WHERE type = 'device.key_registered' AND json_extract(payload, '$.keyId') = ? LIMIT 1",
      [this.key.keyId],
    );
    if (known) return;
    this.systemBatch([{
      type: KEY_REGISTER_COMMAND,
      payload: { device: this.device, keyId: this.key.keyId, publicKey: this.key.publicKeyHex, algorithm: 'Ed25519' },
      idempotencyKey: `device-key:${this.key.keyId}`,
      actor: 'system',
    }]);
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
    const events: EventEnvelope[] = [];
    for (let cursor = 0; ;) {
      const page = this.sql.all('SELECT seq FROM events WHERE seq > ? ORDER BY seq LIMIT 5000', [cursor]);
      if (page.length === 0) break;
      for (const r of page) events.push(this.store.readStored(Number(r['seq']))!);
      cursor = Number(page[page.length - 1]!['seq']);
    }
    return {
      format: 'kingdom.log/2', exportedAt: new Date(this.options.clock()).toISOString(), device: this.device,
      events, audit: this.audit.list(0, Number.MAX_SAFE_INTEGER), checkpoints: listCheckpoints(this.sql, -1, Number.MAX_SAFE_INTEGER),
    };
  }

  /**
   * Repair a log that failed verification, explicitly and audited; nothing is deleted silently.
   * `rebuild`: re-derive every projection from the log (a projection table that was damaged or
   * cannot reach the log head). `cut`: cut the log back to its last verified event: the events
   * from the first broken one on, the audit entries and checkpoints that go with them, are moved
   * aside (tables *_cut) and returned first, projections are rebuilt, and this device continues
   * under a new device chain (other devices may hold the cut events; a new chain never forks
   * theirs). Either way a `kernel.log_repaired` event records it. Leaves recovery mode when the
   * database then passes its checks.
   */
  async repair(action: 'rebuild' | 'cut'): Promise<RepairReport> {
    this.assertOpen();
    if (action !== 'rebuild' && action !== 'cut') {
      throw new KernelError('invalid_command', `repair: unknown action "${String(action)}"; use "rebuild" or "cut".`, { action: String(action) });
    }
    await this.checkpointer.settle();
    const problem = this.recoveryError?.message ?? null;
    const repairId = `repair-${this.newId()}`;
    const cut: { events: Row[]; audit: Row[]; checkpoints: Row[] } = { events: [], audit: [], checkpoints: [] };
    let previousDevice: string | null = null;
    if (action === 'rebuild') {
      try {
        this.sql.transaction(() => {
          restoreAppendOnly(this.sql);
          this.projections.rebuild(this.store);
        });
      } catch (err) {
        throw new KernelError('integrity_error',
          `Rebuilding the projections failed (${KernelError.from(err).message}): the log itself is damaged. Export it, then repair with "cut".`,
          { action });
      }
    } else {
      let anchor = await this.keys.loadAnchor(this.device);
      for (let round = 0; round < 1000; round++) {
        const report = await verifyLog(this.sql, { device: this.device, anchor });
        if (report.ok) break;
        const b = report.broken!;
        if (b.reason === 'checkpoint_missing') {
          anchor = null; // what the anchor signed is gone: the new chain starts without one
          continue;
        }
        const plan = b.chain === 'events' ? { fromSeq: b.seq, fromAudit: null, checkpointIds: [] }
          : b.chain === 'audit' ? { fromSeq: null, fromAudit: b.seq, checkpointIds: [] }
          : { fromSeq: null, fromAudit: null, checkpointIds: this.sql.all('SELECT id FROM checkpoints WHERE device = ? AND device_seq = ?', [b.device ?? '', b.deviceSeq ?? 0]).map((r) => Number(r['id'])) };
        const moved = this.sql.transaction(() => cutLog(this.sql, repairId, plan));
        cut.events.push(...moved.events);
        cut.audit.push(...moved.audit);
        cut.checkpoints.push(...moved.checkpoints);
        this.store.reloadHead();
        this.audit.reload();
      }
      this.sql.transaction(() => {
        restoreAppendOnly(this.sql);
        this.projections.rebuild(this.store);
      });
      previousDevice = this.device;
      await this.rotateDevice();
    }
    this.store.reloadHead();
    this.audit.reload();
    // Positions after the cut are taken again by new events: subscribers must see them.
    if (cut.events.length > 0) this.subscriptions.rewind(this.store.committedHead.seq);
    // Recovered only when the whole log verifies again (the open check alone misses a change
    // under a checkpoint, which a failed verify may be what put the kernel here).
    let still = await this.integrityAtOpen();
    if (!still) {
      const report = await verifyLog(this.sql, { device: this.device, anchor: await this.keys.loadAnchor(this.device) });
      if (!report.ok) {
        still = new KernelError('integrity_error',
          `The log still fails verification after the repair: ${report.broken!.message} Repair with "cut" to move the broken part aside.`,
          { ...report.broken! });
      }
    }
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

  /** The open-time integrity check (anchor, unsigned tail, projections at the log head). */
  private async integrityAtOpen(): Promise<KernelError | null> {
    const anchor = await this.keys.loadAnchor(this.device);
    const broken = checkAtOpen(this.sql, this.device, anchor);
    if (broken) {
      return new KernelError('integrity_error',
        `The database failed its integrity check: ${broken.message} It is open read-only: verify it, export everything, then repair.`,
        { ...broken });
    }
    try {
      this.projections.ensure(this.store);
    } catch (err) {
      const e = KernelError.from(err);
      // A missing upcaster is this code's problem, not the database's: refuse to open, unchanged.
      if (e.code === 'upcast_failed') throw e;
      return new KernelError('integrity_error',
        `The projections cannot be brought to the end of the log (${e.message}). It is open read-only: verify, export, then repair (rebuild, or cut the log back).`,
        { cause: e.code });
    }
    return null;
  }

  /** Normal mode: this device's key is in its chain, an upgrade is recorded, the head gets signed. */
  private startWriting(): void {
    this.ensureKeyRegistered();
    this.recordLogUpgrade();
    this.checkpointer.maybeSign(this.ownHead);
  }

  /**
   * This database's device ids: the current one and those it continued from after a repair cut
   * (sessions they started still belong here).
   */
  ownDevices(): string[] {
    const previous = this.sql.value("SELECT value FROM meta WHERE key = 'previous_devices'");
    return [this.device, ...(typeof previous === 'string' ? (JSON.parse(previous) as string[]) : [])];
  }

  /** Continue under a new device id and key (after a cut). */
  private async rotateDevice(): Promise<void> {
    const id = `dev-${this.newId()}`;
    const previous = this.ownDevices();
    this.sql.transaction(() => {
      this.sql.run("UPDATE meta SET value = ? WHERE key = 'device_id'", [id]);
      this.sql.run("INSERT INTO meta (key, value) VALUES ('previous_devices', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [JSON.stringify(previous)]);
    });
    this.checkpointer.stop();
    this.device = id;
    this.store.switchDevice(id);
    this.key = (await this.keys.load(id)) ?? (await this.keys.create(id));
    this.checkpointer = this.makeCheckpointer();
  }

  /** After an upgrade from format 1: record the re-chaining once, as an audited event. */
  private recordLogUpgrade(): void {
    const raw = this.sql.value("SELECT value FROM meta WHERE key = 'log_upgrade'");
    if (typeof raw !== 'string') return;
    this.systemBatch([{
      type: LOG_UPGRADE_COMMAND,
      payload: JSON.parse(raw) as Record<string, unknown>,
      idempotencyKey: `log-upgrade:${(JSON.parse(raw) as { legacyHead: { hash: string } }).legacyHead.hash}`,
      actor: 'system',
    }]);
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

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
import { KernelError } from './errors.ts';
import type { OpenedDatabase, StorageAdapter } from './db/adapter.ts';
import { Sql } from './db/sql.ts';
import { assertSchemaSupported, migrate, SCHEMA_VERSION } from './db/migrations.ts';
import { EventStore, type EventFilter } from './log/event-store.ts';
import type { EventEnvelope } from './log/envelope.ts';
import { AuditLog, type AuditEntry } from './log/audit.ts';
import { listCheckpoints, type Checkpoint } from './log/checkpoint.ts';
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
import { coreModule, KEY_REGISTER_COMMAND, REBUILT_COMMAND } from './core-module.ts';

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
  readonly lastCheckpointSeq: number;
  readonly projections: readonly ProjectionStatus[];
  readonly openedAt: string;
  readonly bootMs: number;
}

export interface RebuildReport {
  readonly projections: readonly { name: string; before: string; after: string; identical: boolean }[];
  readonly events: number;
  readonly durationMs: number;
}

export class Kernel {
  private closed = false;
  private readonly checkpointer: Checkpointer;
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
    readonly deviceId: string,
    private readonly key: DeviceKeyPair,
    private readonly openedAt: string,
    private bootMs: number,
  ) {
    this.checkpointer = new Checkpointer(sql, key, deviceId, options.clock, options.checkpointEvery);
  }

  /**
   * Open (creating or migrating) the database behind `options.storage`, bring projections to the
   * log head and make sure this device has a registered signing key.
   * Throws `schema_too_new`, `migration_failed`, `storage_*` or `integrity_error`.
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
      const store = new EventStore(sql, events);
      const audit = new AuditLog(sql);
      for (const q of builtinQueries(store, audit, sql)) register(queries, q.name, q, 'kernel');
      const projections = new ProjectionRegistry(sql, modules.flatMap((m) => m.projections ?? []));
      projections.ensure(store);
      const deviceId = ensureDeviceId(sql);
      const keys = options.keys ?? memoryKeyStore();
      const key = (await keys.load(deviceId)) ?? (await keys.create(deviceId));
      const subs = new Subscriptions(storePageSource(store), (err) => console.warn('kingdom: a subscriber failed and was removed', err));
      const kernel = new Kernel(
        opened, options.storage, sql, store, audit, projections, subs,
        commands, queries, opts, deviceId, key, new Date(clock()).toISOString(), 0,
      );
      kernel.ensureKeyRegistered();
      kernel.checkpointer.maybeSign(kernel.store.committedHead);
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
      this.checkpointer.maybeSign(this.store.committedHead);
    }
    return results;
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
    return verifyLog(this.sql, onProgress && advisory(onProgress));
  }

  /**
   * Drop and replay projections (all by default) from the log in one transaction, and record the
   * rebuild as an audited `kernel.projections_rebuilt` event. Reports digests before and after.
   */
  rebuild(names?: readonly string[]): RebuildReport {
    this.assertOpen();
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
    return this.checkpointer.now(this.store.committedHead);
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
      projections: this.projections.status(),
      openedAt: this.openedAt,
      bootMs: Math.round(this.bootMs * 100) / 100,
    };
  }

  get isClosed(): boolean { return this.closed; }

  /** Run `fn` first thing in `close()` (the engine stops before the database goes away). */
  onClose(fn: () => void): void { this.closeHooks.push(fn); }

  /** Wait for a pending checkpoint, end subscriptions and release the database. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    for (const fn of this.closeHooks.splice(0)) fn();
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
        actor: p.actor, device: this.deviceId, payload: ne.payload,
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
      payload: { device: this.deviceId, keyId: this.key.keyId, publicKey: this.key.publicKeyHex, algorithm: 'Ed25519' },
      idempotencyKey: `device-key:${this.key.keyId}`,
      actor: 'system',
    }]);
  }

  private assertOpen(): void {
    if (this.closed) throw new KernelError('kernel_closed', 'The kernel is closed; open it again to continue.');
  }
}

/**
 * Executing prepared commands inside the caller's write transaction: decide against current
 * state, append the events (validated against their schemas), apply projections, audit, store the
 * idempotency record.
 *
 * Invariants:
 * 1. Runs inside one transaction opened by the kernel; a throw rolls the whole batch back.
 * 2. A repeat of an idempotency key within the batch returns the first result (the same request)
 *    or is `idempotency_key_reused` (a different one); a replay from the table is returned as is.
 * 3. A command sent through the API whose target stream belongs to an imported copy is refused
 *    (`imported_copy`); a batch that removes a copy re-derives the projections without it.
 */
import { KernelError } from '../errors.ts';
import type { Sql } from '../db/sql.ts';
import type { EventStore } from '../log/event-store.ts';
import type { EventEnvelope } from '../log/envelope.ts';
import type { AuditLog } from '../log/audit.ts';
import type { ProjectionRegistry } from '../projections/registry.ts';
import type { DecideContext } from '../module.ts';
import { zodError, type CommandResult } from './envelope.ts';
import { checkVersion, reusedKey, type Prepared } from './prepare.ts';
import { assertNotImported } from '../workspace-file/imported.ts';

/** What executing a command reads and writes. */
export interface Executor {
  readonly sql: Sql;
  readonly store: EventStore;
  readonly projections: ProjectionRegistry;
  readonly audit: AuditLog;
  readonly device: string;
  readonly clock: () => number;
  /** Runners the host's engine provides (DecideContext.runners). */
  readonly runners: ReadonlySet<string>;
  newId(nowMs: number): string;
}

/** Execute `prepared` in order, pushing each result and every appended event. */
export function executeAll(x: Executor, prepared: readonly Prepared[], results: CommandResult[], published: EventEnvelope[]): void {
  const seenKeys = new Map<string, number>();
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
    const { result, events } = execute(x, p);
    published.push(...events);
    results.push(result);
  }
  const from = x.projections.view?.rederiveFrom(published) ?? null;
  if (from !== null) x.projections.rederive(x.store, from);
}

const uncountedIn = (x: Executor) => (stream: string) => x.projections.uncounted(null, stream).inStream;

function execute(x: Executor, p: Prepared): { result: CommandResult; events: EventEnvelope[] } {
  const { def } = p;
  let target = def.target?.(p.payload) ?? null;
  if (target !== null && !def.internal) assertNotImported(x.sql, target, def.type);
  if (target !== null) checkVersion(x.store, target, p.expectedVersion, def.type, uncountedIn(x));
  const state = def.load ? def.load(x.sql, p.payload) : undefined;
  const nowMs = x.clock();
  const ctx: DecideContext = {
    now: new Date(nowMs).toISOString(), nowMs, actor: p.actor, device: x.device, runners: x.runners,
    newId: () => x.newId(nowMs),
  };
  const decision = def.decide(state, p.payload, ctx);
  if (!def.internal) for (const ne of decision.events) assertNotImported(x.sql, ne.stream, def.type);
  if (target === null && decision.events.length > 0) {
    target = decision.events[0]!.stream;
    checkVersion(x.store, target, p.expectedVersion, def.type, uncountedIn(x));
  }
  const appended: EventEnvelope[] = [];
  for (const ne of decision.events) {
    const edef = x.store.definition(ne.type);
    if (!edef) throw new KernelError('internal', `${def.type} produced unregistered event type ${ne.type}.`);
    const checked = edef.schema.safeParse(ne.payload);
    if (!checked.success) throw zodError('internal', `${def.type} produced an invalid ${ne.type}`, 'payload', checked.error);
    const e = x.store.append({
      id: ctx.newId(), stream: ne.stream, type: ne.type, v: edef.version, at: ctx.now,
      actor: p.actor, payload: ne.payload,
    });
    x.projections.apply(e);
    if (def.audit) x.audit.append(def.audit, e, ctx.newId());
    appended.push(e);
  }
  decision.store?.(x.sql);
  const result: CommandResult = {
    type: def.type,
    value: decision.value,
    events: appended.map((e) => ({ id: e.id, seq: e.seq, stream: e.stream, streamSeq: e.streamSeq, type: e.type })),
    streamVersion: target === null ? 0 : x.store.streamVersion(target),
    replayed: false,
  };
  if (def.mutates && p.key !== undefined) {
    const stored: Omit<CommandResult, 'replayed'> = { type: result.type, value: result.value, events: result.events, streamVersion: result.streamVersion };
    x.sql.run('INSERT INTO idempotency (key, command_type, request_hash, result, at) VALUES (?,?,?,?,?)',
      [p.key, def.type, p.requestHash, JSON.stringify(stored), ctx.now]);
  }
  return { result, events: appended };
}

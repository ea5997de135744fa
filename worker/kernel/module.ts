/**
 * What a domain slice contributes to the kernel: commands, events (with versions and upcasters),
 * projections and queries. The kernel wires them together; slices never reach into each other.
 *
 * Invariants:
 * 1. `decide` is pure: time and ids come from `DecideContext`, state from `load`.
 * 2. A projection's `apply` is deterministic (no clock, no randomness) and touches only the tables
 *    it lists in `tables`, so rebuilding from the log yields identical tables.
 * 3. Every event type has exactly one current version; stored older versions are lifted by the
 *    upcasters `fromVersion -> fromVersion + 1`, applied in order on read.
 */
import type { z } from 'zod';
import type { EventEnvelope } from './log/envelope.ts';
import type { Json } from './errors.ts';
import type { Sql } from './db/sql.ts';

/** Read-only view of the database handed to `load` and queries. */
export type Reader = Pick<Sql, 'all' | 'get' | 'value'>;
/** What a projection's `apply` may do. */
export type Writer = Pick<Sql, 'all' | 'get' | 'value' | 'run'>;

export interface DecideContext {
  /** ISO-8601 time of this command. */
  readonly now: string;
  /** Epoch milliseconds of this command. */
  readonly nowMs: number;
  /** A fresh UUIDv7 for every call. */
  newId(): string;
  readonly actor: string;
  readonly device: string;
}

export interface NewEvent {
  readonly stream: string;
  readonly type: string;
  readonly payload: Json;
}

export interface Decision {
  readonly events: readonly NewEvent[];
  /** The command's answer (e.g. the id it created); stored for idempotent repeats. */
  readonly value: Json;
  /**
   * Writes to the kernel's non-log tables (`blobs`, `secrets`) in the command's transaction, after
   * its events were appended. Never touches projection tables (rebuild would lose them).
   */
  readonly store?: (w: Writer) => void;
}

export interface CommandDefinition<P = any, S = any> {
  readonly type: string;
  readonly description: string;
  /** Strict zod schema of the payload; unknown fields are rejected. */
  readonly schema: z.ZodType<P>;
  /** Commands that change nothing (`kernel.ping`) need no idempotency key and append nothing. */
  readonly mutates: boolean;
  /** The stream this command targets, when known before deciding (for `expectedVersion`). */
  target?(payload: P): string | null;
  /** Load the state the decision needs, from the slice's own projection tables. */
  load?(read: Reader, payload: P): S;
  decide(state: S, payload: P, ctx: DecideContext): Decision;
  /** Internal commands can only be issued by the kernel itself (`forbidden` through the API). */
  readonly internal?: boolean;
  /** Privileged commands write an audit entry per event, with this action name. */
  readonly audit?: string;
  /**
   * What happens when two devices issue this command concurrently (each without having seen the
   * other's event), e.g. "two renames: the later in merge order wins". Documented in commands.md.
   */
  readonly concurrent?: string;
}

export interface Upcaster {
  /** Version this upcaster reads; it returns the payload at `fromVersion + 1`. */
  readonly fromVersion: number;
  up(payload: Json): Json;
}

export interface EventDefinition<P = any> {
  readonly type: string;
  readonly version: number;
  readonly description: string;
  /** Schema of the current version's payload; appended payloads are checked against it. */
  readonly schema: z.ZodType<P>;
  readonly upcasters?: readonly Upcaster[];
  /**
   * How projections resolve this event when its writer had not seen an earlier event of its
   * stream (a concurrent write): recorded with the conflict for the UI to show.
   */
  readonly concurrent?: string;
}

export interface Projection {
  readonly name: string;
  /** Bump when `apply` or the tables change: the projection is then rebuilt on open. */
  readonly version: number;
  /** Tables this projection owns (dropped and recreated on rebuild, digested by verify). */
  readonly tables: readonly string[];
  /** DDL creating the tables (and their indexes). */
  readonly createSql: string;
  /** Event types this projection reacts to; omit for all. */
  readonly eventTypes?: readonly string[];
  apply(event: EventEnvelope, w: Writer): void;
}

export interface QueryDefinition<P = any, R = any> {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodType<P>;
  run(read: Reader, params: P): R;
}

export interface KernelModule {
  readonly name: string;
  readonly commands?: readonly CommandDefinition[];
  readonly events?: readonly EventDefinition[];
  readonly projections?: readonly Projection[];
  readonly queries?: readonly QueryDefinition[];
}

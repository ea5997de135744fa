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
import type { CodePart } from './code-part.ts';

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
  /** Runners this host's engine provides besides the built-in ones (Kernel.provideRunners); empty without an engine. */
  readonly runners: ReadonlySet<string>;
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
  /** Code `decide` uses that loads on demand (code-part.ts): loaded before the command runs. */
  readonly needs?: readonly CodePart[];
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
  /**
   * `workspace`: the event belongs to one workspace (its stream is the workspace's, decision 18)
   * and travels in a workspace file (docs/workspace-file.md). Events without it never leave in
   * one: device, kernel and sync events, a secret's sealed share, a request to a session's owner.
   */
  readonly scope?: 'workspace';
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
  /**
   * After its tables were put back from a snapshot (projections/snapshots.ts): rebuild what a
   * snapshot does not copy, i.e. its virtual tables (an FTS5 index) from its ordinary tables.
   * Required when `tables` names a virtual table.
   */
  restored?(w: Writer): void;
}

/** What a query's `run` may use besides its own tables: other slices' queries (never their tables). */
export interface QueryContext {
  query(name: string, params?: unknown): unknown;
  /** Runners this host's engine provides besides the built-in ones (as DecideContext.runners). */
  readonly runners: ReadonlySet<string>;
}

export interface QueryDefinition<P = any, R = any> {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodType<P>;
  run(read: Reader, params: P, ctx: QueryContext): R;
  /** Internal queries answer only the kernel's own code (the engine), never the API (`forbidden`). */
  readonly internal?: boolean;
  /** Code `run` uses that loads on demand (code-part.ts): loaded before the query runs. */
  readonly needs?: readonly CodePart[];
}

/**
 * A query with its types kept: `name` as a literal, params as the schema's, the result as `run`
 * returns it. Slices export their queries through `defineQueries([...])` so the API's QueryMap
 * (worker/api-types.ts) can type `query('session.list', params)` end to end.
 */
export function defineQuery<const N extends string, S extends z.ZodType, R>(
  name: N, description: string, schema: S, run: (read: Reader, params: z.output<S>, ctx: QueryContext) => R,
  options: { readonly internal?: boolean; readonly needs?: readonly CodePart[] } = {},
): QueryDefinition<z.output<S>, R> & { readonly name: N; readonly schema: S } {
  return { name, description, schema: schema as S & z.ZodType<z.output<S>>, run, ...(options.internal ? { internal: true } : {}), ...(options.needs ? { needs: options.needs } : {}) };
}

/** For running a query's `run` outside the kernel (a read-only command's `load`): no other queries. */
export const NO_QUERY_CONTEXT: QueryContext = {
  runners: new Set(),
  query(name) {
    throw new Error(`query ${name}: not available here`);
  },
};

/** A slice's queries as a tuple whose element types (names, schemas, results) are kept. */
export function defineQueries<const T extends readonly QueryDefinition[]>(queries: T): T {
  return queries;
}

/** A slice's commands as a tuple whose element types (types, payload schemas) are kept. */
export function defineCommands<const T extends readonly CommandDefinition[]>(commands: T): T {
  return commands;
}

/**
 * `{ [name]: { params, result } }` of a union of query definitions; internal ones are left out
 * unless `Internal` is true (the kernel's own code may run them).
 */
export type QueryMapOf<Q, Internal extends boolean = false> = {
  [D in Q as D extends { readonly internal: true } ? (Internal extends true ? QueryNameOf<D> : never) : QueryNameOf<D>]:
    D extends { readonly schema: infer S extends z.ZodType; run(...a: never[]): infer R } ? { readonly params: z.input<S>; readonly result: R } : never;
};

type QueryNameOf<D> = D extends { readonly name: infer N extends string } ? N : never;

/** `{ [type]: { payload } }` of a union of command definitions (internal ones left out). */
export type CommandMapOf<C> = {
  [D in C as D extends { readonly internal: true } ? never : D extends { readonly type: infer T extends string } ? T : never]:
    D extends { readonly schema: infer S extends z.ZodType } ? { readonly payload: z.input<S> } : never;
};

export interface KernelModule {
  readonly name: string;
  readonly commands?: readonly CommandDefinition[];
  readonly events?: readonly EventDefinition[];
  readonly projections?: readonly Projection[];
  readonly queries?: readonly QueryDefinition[];
}

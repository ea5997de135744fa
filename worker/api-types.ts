/**
 * The typed maps of the API, inferred from each slice's exported definitions (never written by
 * hand): `QueryMap['session.list']` is `{ params, result }` with params the query schema's input
 * and result what its `run` returns. Types only: nothing here exists at run time, so the UI may
 * import it freely (`import type`).
 */
import type { CommandMapOf, QueryMapOf } from './kernel/module.ts';
import type { coreCommands } from './kernel/core-module.ts';
import type { builtinQueries } from './kernel/builtin-queries.ts';
import type { conflictsQuery } from './kernel/projections/conflicts.ts';
import type { devicesQuery } from './kernel/devices.ts';
import type { workspacesModule } from './domains/workspaces/index.ts';
import type { sessionsModule } from './domains/sessions/index.ts';
import type { secretsModule } from './domains/secrets/index.ts';
import type { providersModule } from './domains/providers/index.ts';
import type { forestModule } from './domains/forest/index.ts';
import type { manifestsModule } from './domains/manifests/index.ts';

type AllQueries =
  | ReturnType<typeof builtinQueries>[number]
  | typeof conflictsQuery
  | ReturnType<typeof devicesQuery>
  | (typeof workspacesModule.queries)[number]
  | (typeof sessionsModule.queries)[number]
  | (typeof secretsModule.queries)[number]
  | (typeof providersModule.queries)[number]
  | (typeof forestModule.queries)[number]
  | (typeof manifestsModule.queries)[number];

/** Every query, internal ones included: what the kernel's own code (the engine) may ask. */
export type SystemQueryMap = QueryMapOf<AllQueries, true>;
export type SystemQueryName = keyof SystemQueryMap & string;

/** Every public query: `{ [name]: { params, result } }`. */
export type QueryMap = QueryMapOf<AllQueries>;
export type QueryName = keyof QueryMap & string;
export type QueryParams<N extends QueryName> = QueryMap[N]['params'];
export type QueryResult<N extends QueryName> = QueryMap[N]['result'];

type AllCommands =
  | (typeof coreCommands)[number]
  | (typeof workspacesModule.commands)[number]
  | (typeof sessionsModule.commands)[number]
  | (typeof secretsModule.commands)[number]
  | (typeof providersModule.commands)[number]
  | (typeof forestModule.commands)[number]
  | (typeof manifestsModule.commands)[number];

/** Every public command: `{ [type]: { payload } }` (internal ones, refused through the API, left out). */
export type CommandMap = CommandMapOf<AllCommands>;
export type CommandType = keyof CommandMap & string;
export type CommandPayload<T extends CommandType> = CommandMap[T]['payload'];

/** A command envelope whose payload is checked against its type's schema (a union over every command). */
export type TypedCommand<T extends CommandType = CommandType> = T extends CommandType ? {
  readonly type: T;
  readonly payload: CommandPayload<T>;
  readonly idempotencyKey?: string;
  readonly expectedVersion?: number;
  readonly actor?: string;
} : never;

/** A typed command without its idempotency key (the UI client adds one per user action). */
export type TypedIntent<T extends CommandType = CommandType> = T extends CommandType ? Omit<TypedCommand<T>, 'idempotencyKey'> : never;

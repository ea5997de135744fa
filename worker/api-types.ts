/**
 * The typed maps of the API, inferred from each slice's exported definitions (never written by
 * hand): `QueryMap['session.list']` is `{ params, result }` with params the query schema's input
 * and result what its `run` returns. Types only: nothing here exists at run time, so the UI may
 * import it freely (`import type`).
 */
import type { QueryMapOf } from './kernel/module.ts';
import type { builtinQueries } from './kernel/builtin-queries.ts';
import type { workspacesModule } from './domains/workspaces/index.ts';
import type { sessionsModule } from './domains/sessions/index.ts';
import type { secretsModule } from './domains/secrets/index.ts';
import type { providersModule } from './domains/providers/index.ts';
import type { forestModule } from './domains/forest/index.ts';

type AllQueries =
  | ReturnType<typeof builtinQueries>[number]
  | (typeof workspacesModule.queries)[number]
  | (typeof sessionsModule.queries)[number]
  | (typeof secretsModule.queries)[number]
  | (typeof providersModule.queries)[number]
  | (typeof forestModule.queries)[number];

/** Every query, internal ones included: what the kernel's own code (the engine) may ask. */
export type SystemQueryMap = QueryMapOf<AllQueries, true>;
export type SystemQueryName = keyof SystemQueryMap & string;

/** Every public query: `{ [name]: { params, result } }`. */
export type QueryMap = QueryMapOf<AllQueries>;
export type QueryName = keyof QueryMap & string;
export type QueryParams<N extends QueryName> = QueryMap[N]['params'];
export type QueryResult<N extends QueryName> = QueryMap[N]['result'];

/**
 * How the engine reads what other slices know: their queries, typed by the slices' own
 * definitions (SystemQueryMap), run as the kernel's own code (internal queries included). The
 * engine never reads a slice's tables with SQL.
 */
import type { SystemQueryMap, SystemQueryName } from '../api-types.ts';

/** The part of the kernel the engine asks through. */
export interface QueryPort {
  systemQuery(name: string, params?: unknown): unknown;
}

export function ask<N extends SystemQueryName>(k: QueryPort, name: N, params: SystemQueryMap[N]['params']): SystemQueryMap[N]['result'] {
  return k.systemQuery(name, params) as SystemQueryMap[N]['result'];
}

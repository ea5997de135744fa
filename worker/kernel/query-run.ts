/**
 * Running a registered query: look it up, refuse internal ones through the API, validate the
 * params, and give it a context to ask other queries (with the same rights).
 */
import { KernelError } from './errors.ts';
import type { Reader, QueryDefinition } from './module.ts';
import { zodError } from './commands/envelope.ts';

export function runQuery(queries: ReadonlyMap<string, QueryDefinition>, read: Reader, name: string, params: unknown, internal: boolean, runners: ReadonlySet<string> = NO_RUNNERS): unknown {
  const def = queries.get(name);
  if (!def) {
    throw new KernelError('unknown_query', `Unknown query "${name}". Known queries: ${[...queries.keys()].filter((q) => !queries.get(q)!.internal).sort().join(', ')}.`, { name });
  }
  if (def.internal && !internal) throw new KernelError('forbidden', `The query ${name} is internal to the kernel.`, { name });
  const parsed = def.schema.safeParse(params ?? {});
  if (!parsed.success) throw zodError('invalid_query', name, 'params', parsed.error);
  return def.run(read, parsed.data, { query: (n, p) => runQuery(queries, read, n, p ?? {}, internal, runners), runners });
}

const NO_RUNNERS: ReadonlySet<string> = new Set();

/**
 * Wiring done once when a kernel opens: the name registries built from the modules (a name
 * registered twice is a programming error) and this database's device id.
 */
import type { Sql } from './db/sql.ts';
import type { CommandDefinition, EventDefinition, KernelModule, QueryDefinition } from './module.ts';
import { uuidv7 } from './ids.ts';

export interface Registries {
  readonly commands: Map<string, CommandDefinition>;
  readonly events: Map<string, EventDefinition>;
  readonly queries: Map<string, QueryDefinition>;
}

export function collectRegistries(modules: readonly KernelModule[]): Registries {
  const r: Registries = { commands: new Map(), events: new Map(), queries: new Map() };
  for (const m of modules) {
    for (const c of m.commands ?? []) register(r.commands, c.type, c, m.name);
    for (const e of m.events ?? []) register(r.events, e.type, e, m.name);
    for (const q of m.queries ?? []) register(r.queries, q.name, q, m.name);
  }
  return r;
}

export function register<T>(map: Map<string, T>, key: string, value: T, module: string): void {
  if (map.has(key)) throw new Error(`${key} is registered twice (module ${module})`);
  map.set(key, value);
}

/** The device id recorded in `meta` (created on first open). */
export function ensureDeviceId(sql: Sql): string {
  const existing = sql.value("SELECT value FROM meta WHERE key = 'device_id'");
  if (typeof existing === 'string') return existing;
  const id = `dev-${uuidv7()}`;
  sql.transaction(() => sql.run("INSERT INTO meta (key, value) VALUES ('device_id', ?)", [id]));
  return id;
}

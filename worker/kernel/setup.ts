/**
 * Wiring done once when a kernel opens: the name registries built from the modules (a name
 * registered twice is a programming error), this database's device id, and the parts over the
 * migrated database (log, audit, projections, the kernel's own queries).
 */
import { Sql } from './db/sql.ts';
import type { OpenedDatabase } from './db/adapter.ts';
import type { CommandDefinition, EventDefinition, KernelModule, QueryDefinition } from './module.ts';
import { uuidv7 } from './ids.ts';
import { EventStore } from './log/event-store.ts';
import { AuditLog } from './log/audit.ts';
import { ProjectionRegistry } from './projections/registry.ts';
import { conflictsProjection, conflictsQuery } from './projections/conflicts.ts';
import { devicesProjection, devicesQuery } from './devices.ts';
import { builtinQueries } from './builtin-queries.ts';
import { ImportView, importsProjection } from './workspace-file/imported.ts';

/** The parts of a kernel over one migrated database. */
export interface Assembled extends Omit<Registries, 'events'> {
  readonly sql: Sql;
  readonly deviceId: string;
  readonly store: EventStore;
  readonly audit: AuditLog;
  readonly projections: ProjectionRegistry;
}

/** Build the parts of a kernel over `opened` (migrated) from its modules. */
export function assemble(opened: OpenedDatabase, modules: readonly KernelModule[], clock: () => number, snapshotEvery?: number): Assembled {
  const { commands, events, queries } = collectRegistries(modules);
  const sql = new Sql(opened.db, opened.sqlite3);
  const deviceId = ensureDeviceId(sql);
  const store = new EventStore(sql, events, deviceId, clock);
  const audit = new AuditLog(sql);
  for (const q of [...builtinQueries(store, audit, sql), conflictsQuery, devicesQuery(() => store.device)]) register(queries, q.name, q, 'kernel');
  const view = new ImportView(sql, events, (e) => store.upcast(e));
  const projections = new ProjectionRegistry(sql, [devicesProjection, conflictsProjection(events), importsProjection, ...modules.flatMap((m) => m.projections ?? [])], snapshotEvery, view);
  return { sql, deviceId, store, audit, projections, queries, commands };
}

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

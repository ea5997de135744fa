/**
 * Imported copies in the log (decision 40): the importer re-authors every verified event of a
 * workspace file as one `kernel.event_imported` event of ITS OWN chain, carrying the original as
 * stored (so its hash still verifies), and records the import as an audited `workspace.imported`.
 *
 * Invariants:
 * 1. The importer's chain stays an ordinary chain: wrappers and the record are appended like any
 *    event, so verify, checkpoints, sync and rebuild treat them as they treat everything else.
 * 2. Projections see a wrapper as its original (`present`): the original's type, payload (upcast,
 *    ids remapped: remap.ts), time and actor, at the wrapper's merge positions, with the device
 *    `imported:<original device>` (no engine anywhere owns an imported session). Only types with
 *    `scope: 'workspace'` are ever presented; anything else stays a wrapper.
 * 3. A copy is read-only: a command whose target stream begins with a wrapper or an import record
 *    is refused with `imported_copy` (the kernel's executor; scoped commands refuse through the
 *    workspace's status in the workspaces slice).
 * 4. Removing a copy (`workspace.copy_removed`, audited) makes every wrapper of that import stop
 *    applying: the registry re-derives the projections from the import's first wrapper, and any
 *    later replay skips them. They stay in the log (append-only), as the record of what came in.
 *    The removed set is read from the log itself, so replays know it before they reach the wrappers.
 */
import { z } from 'zod';
import { KernelError, type Json } from '../errors.ts';
import { defineCommands, type EventDefinition, type Projection, type Reader } from '../module.ts';
import { ORD_SQL, type EventEnvelope, type WireEvent } from '../log/envelope.ts';
import type { Sql } from '../db/sql.ts';
import { fileEventSchema } from './format.ts';
import { remapJson, remapText } from './remap.ts';

export const IMPORTED_EVENT = 'kernel.event_imported';
export const WORKSPACE_IMPORTED = 'workspace.imported';
export const COPY_REMOVED = 'workspace.copy_removed';
export const IMPORT_COMMAND = 'workspace.import';
export const IMPORT_EVENTS_COMMAND = 'kernel.import.events';
export const REMOVE_COPY_COMMAND = 'workspace.remove_copy';
export const IMPORTS_PROJECTION = 'kernel_imports';

const uuid = z.uuid();
const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`));
const text = (max: number) => z.string().max(max);

const wrapper = z.strictObject({ importId: uuid, event: fileEventSchema });
const record = z.strictObject({
  workspaceId: uuid,
  importId: uuid,
  manifestHash: hex(64),
  signature: hex(128),
  /** The signed manifest without its two lists (the wrappers, in order, give them back). */
  manifest: z.strictObject({
    workspace: z.strictObject({ id: text(100), name: text(200), description: text(2000) }),
    exporter: z.strictObject({
      device: text(200), name: text(200).nullable(), keyId: hex(16), publicKey: hex(64),
      head: z.strictObject({ deviceSeq: z.number().int().min(0), hash: hex(64) }),
    }),
    exportedAt: text(40),
    kernelVersion: text(40),
  }),
  events: z.number().int().min(0),
  blobs: z.number().int().min(0),
});
const removed = z.strictObject({ workspaceId: uuid, importId: uuid });

export type ImportRecord = z.infer<typeof record>;

export const importEvents: EventDefinition[] = [
  {
    type: IMPORTED_EVENT, version: 1, schema: wrapper,
    description: 'An event of an imported workspace file, as the exporter stored it (its hash verifies); projections see it as its original, in the read-only copy.',
  },
  {
    type: WORKSPACE_IMPORTED, version: 1, schema: record,
    description: 'A workspace file was verified and imported as a read-only copy: its manifest (without the lists), signature and counts.',
    concurrent: 'The same file imported on two devices at once: two copies; remove one.',
  },
  {
    type: COPY_REMOVED, version: 1, schema: removed,
    description: 'An imported copy was removed: its imported events stay in the log and no longer apply.',
    concurrent: 'Removed twice at once: removed.',
  },
];

const batchSchema = z.strictObject({ importId: uuid, manifestHash: hex(64), events: z.array(z.custom<WireEvent>((v) => typeof v === 'object' && v !== null)) });
const importSchema = z.strictObject({ record, blobs: z.array(z.strictObject({ hash: hex(64), mediaType: z.string(), data: z.string() })) });

/** An active (not removed) import of the manifest `hash`, or undefined. */
export function activeImport(r: Reader, manifestHash: string): { importId: string; workspaceId: string; record: ImportRecord; importedAt: string } | undefined {
  const row = r.get('SELECT import_id, workspace_id, record, imported_at FROM kernel_imports WHERE manifest_hash = ? AND removed_at IS NULL ORDER BY imported_at LIMIT 1', [manifestHash]);
  return row ? { importId: String(row['import_id']), workspaceId: String(row['workspace_id']), record: JSON.parse(String(row['record'])) as ImportRecord, importedAt: String(row['imported_at']) } : undefined;
}

export const importCommands = defineCommands([
  {
    type: IMPORT_EVENTS_COMMAND,
    internal: true,
    concurrent: 'Appends to this device\'s chain only.',
    description: "Append the verified events of a workspace file to this device's chain, each wrapped (the kernel's import; runs with workspace.import in one batch).",
    schema: batchSchema,
    mutates: true,
    load: (r, p: z.infer<typeof batchSchema>) => activeImport(r, p.manifestHash) !== undefined,
    decide: (done: boolean, p: z.infer<typeof batchSchema>) => ({
      events: done ? [] : p.events.map((e) => ({ stream: remapText(e.stream, p.importId), type: IMPORTED_EVENT, payload: { importId: p.importId, event: e as unknown as Json } })),
      value: { importId: p.importId },
    }),
  },
  {
    type: IMPORT_COMMAND,
    internal: true,
    audit: WORKSPACE_IMPORTED,
    concurrent: 'The same file imported on two devices at once: two copies; remove one.',
    description: 'Record a verified workspace file as a read-only copy (audited), and store the blobs it carries. The API\'s importWorkspace verifies the file first.',
    schema: importSchema,
    mutates: true,
    load: (r, p: z.infer<typeof importSchema>) => activeImport(r, p.record.manifestHash),
    decide: (existing: ReturnType<typeof activeImport>, p: z.infer<typeof importSchema>) => {
      if (existing) return { events: [], value: { workspaceId: existing.workspaceId, importId: existing.importId, alreadyImported: true } };
      return {
        events: [{ stream: `workspace:${p.record.workspaceId}`, type: WORKSPACE_IMPORTED, payload: p.record as unknown as Json }],
        value: { workspaceId: p.record.workspaceId, importId: p.record.importId, alreadyImported: false },
        store: (w) => {
          for (const b of p.blobs) {
            w.run('INSERT INTO blobs (hash, size, media_type, data, created_at) VALUES (?,?,?,?,datetime()) ON CONFLICT (hash) DO NOTHING', [b.hash, b.data.length, b.mediaType, b.data]);
          }
        },
      };
    },
  },
  {
    type: REMOVE_COPY_COMMAND,
    audit: COPY_REMOVED,
    concurrent: 'Removed twice at once: removed.',
    description: 'Remove a read-only copy imported from a workspace file (audited): it disappears from every list; its imported events stay in the log and no longer apply.',
    schema: z.strictObject({ workspaceId: uuid }),
    mutates: true,
    load: (r, p: { workspaceId: string }) => r.get('SELECT import_id, removed_at FROM kernel_imports WHERE workspace_id = ? ORDER BY imported_at DESC LIMIT 1', [p.workspaceId]),
    decide: (row: { import_id: string; removed_at: string | null } | undefined, p: { workspaceId: string }) => {
      if (!row || row.removed_at !== null) {
        throw new KernelError('not_found', `payload.workspaceId: workspace ${p.workspaceId} is not an imported copy (or it was removed already); only copies opened from a workspace file can be removed.`, { field: 'payload.workspaceId', workspaceId: p.workspaceId });
      }
      return {
        events: [{ stream: `workspace:${p.workspaceId}`, type: COPY_REMOVED, payload: { workspaceId: p.workspaceId, importId: row.import_id } }],
        value: { workspaceId: p.workspaceId },
      };
    },
  },
]);

/** `kernel_imports`: one row per import, its record, and when it was removed. */
export const importsProjection: Projection = {
  name: IMPORTS_PROJECTION,
  version: 1,
  tables: ['kernel_imports'],
  eventTypes: [WORKSPACE_IMPORTED, COPY_REMOVED],
  createSql: `CREATE TABLE kernel_imports (
    import_id     TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    manifest_hash TEXT NOT NULL,
    record        TEXT NOT NULL,
    imported_at   TEXT NOT NULL,
    removed_at    TEXT
  ) STRICT;
  CREATE INDEX kernel_imports_manifest ON kernel_imports (manifest_hash);
  CREATE INDEX kernel_imports_workspace ON kernel_imports (workspace_id);`,
  apply(e, w) {
    const p = e.payload as { importId: string; workspaceId: string; manifestHash?: string };
    if (e.type === WORKSPACE_IMPORTED) {
      w.run('INSERT OR IGNORE INTO kernel_imports (import_id, workspace_id, manifest_hash, record, imported_at) VALUES (?,?,?,?,?)',
        [p.importId, p.workspaceId, p.manifestHash ?? '', JSON.stringify(e.payload), e.at]);
    } else {
      w.run('UPDATE kernel_imports SET removed_at = COALESCE(removed_at, ?) WHERE import_id = ?', [e.at, p.importId]);
    }
  },
};

/** The original of a wrapper as the session fold reads a stream: type, time and payload (ids remapped, not upcast). */
export function asOriginal(type: string, at: string, payload: unknown): { type: string; at: string; payload: unknown } {
  if (type !== IMPORTED_EVENT) return { type, at, payload };
  const p = payload as { importId: string; event: WireEvent };
  return { type: p.event.type, at: p.event.at, payload: remapJson(p.event.payload, p.importId) };
}

/**
 * What projections see of each event (the registry's view, invariant 2) and when a removal makes
 * them re-derive (invariant 4).
 */
export class ImportView {
  readonly carriers = [IMPORTED_EVENT];
  private removedIds: Set<string> | null = null;

  constructor(
    private readonly sql: Sql,
    private readonly events: ReadonlyMap<string, EventDefinition>,
    private readonly upcast: (e: EventEnvelope) => EventEnvelope,
  ) {}

  /** `e` as projections see it: itself, a wrapper's original, or null (its import was removed). */
  present(e: EventEnvelope): EventEnvelope | null {
    if (e.type !== IMPORTED_EVENT) return e;
    const p = e.payload as { importId: string; event: WireEvent };
    if (this.removed().has(p.importId)) return null;
    const o = p.event;
    if (this.events.get(o.type)?.scope !== 'workspace') return e;
    const lifted = this.upcast({ ...o, seq: e.seq, streamSeq: e.streamSeq } as EventEnvelope);
    return {
      id: e.id, seq: e.seq, stream: e.stream, streamSeq: e.streamSeq, streamBase: e.streamBase, type: o.type, v: lifted.v, at: o.at,
      actor: o.actor, device: `imported:${o.device}`, deviceSeq: e.deviceSeq, hlc: e.hlc, payload: remapJson(lifted.payload, p.importId), prev: e.prev, hash: e.hash,
    };
  }

  /** The merge key to re-derive from when `events` remove copies (their imports' first wrapper), or null. */
  rederiveFrom(events: readonly Pick<EventEnvelope, 'type' | 'payload'>[]): string | null {
    let from: string | null = null;
    for (const e of events) {
      if (e.type !== COPY_REMOVED) continue;
      this.forget();
      const row = this.sql.get(`SELECT MIN(${ORD_SQL}) AS ord FROM events WHERE type = ? AND json_extract(payload, '$.importId') = ?`,
        [IMPORTED_EVENT, (e.payload as { importId: string }).importId]);
      const ord = row && typeof row['ord'] === 'string' ? row['ord'] : null;
      if (ord !== null && (from === null || ord < from)) from = ord;
    }
    return from;
  }

  forget(): void {
    this.removedIds = null;
  }

  private removed(): Set<string> {
    return (this.removedIds ??= new Set(this.sql.all("SELECT json_extract(payload, '$.importId') AS id FROM events WHERE type = ?", [COPY_REMOVED]).map((r) => String(r['id']))));
  }
}

/** Throw `imported_copy` when `stream` belongs to an imported copy (its first event is a wrapper or an import record). */
export function assertNotImported(sql: Sql, stream: string, command: string): void {
  if (command === REMOVE_COPY_COMMAND) return;
  const first = sql.value('SELECT type FROM events WHERE stream = ? AND stream_seq = 1', [stream]);
  if (first === IMPORTED_EVENT || first === WORKSPACE_IMPORTED) {
    throw new KernelError('imported_copy', `${command}: ${stream} belongs to a read-only copy imported from a workspace file; nothing in it can be changed. Work in a workspace of your own.`, { stream });
  }
}


/**
 * Importing a workspace file as a read-only copy (decision 40): read, verify everything, then
 * write it in ONE audited kernel batch (the wrapped events and the `workspace.imported` record).
 *
 * Invariants:
 * 1. Nothing is written before the whole file verified (verify.ts); a failure throws
 *    `invalid_file` / `file_not_verified` with a sentence naming the first broken item.
 * 2. All or nothing: the batch is one transaction; a projection that cannot apply an event rolls
 *    it all back (`invalid_file`, reason `not_applicable`).
 * 3. Idempotent: a file whose manifest is already imported (and not removed) writes nothing and
 *    answers the existing copy (`alreadyImported`).
 */
import { KernelError } from '../errors.ts';
import type { Sql } from '../db/sql.ts';
import type { CommandInput, CommandResult } from '../commands/envelope.ts';
import type { EventEnvelope } from '../log/envelope.ts';
import type { EventStore } from '../log/event-store.ts';
import { uuidv7 } from '../ids.ts';
import { invalidFile, manifestHash, type WorkspaceFile, type WorkspaceImport } from './format.ts';
import { readWorkspaceFile, verifyWorkspaceFile, type VerifyContext } from './verify.ts';
import { activeImport, IMPORT_COMMAND, IMPORT_EVENTS_COMMAND, type ImportRecord } from './imported.ts';
import { copyId } from './remap.ts';

export interface ImportParts {
  readonly sql: Sql;
  readonly store: EventStore;
  systemBatch(inputs: readonly CommandInput[]): CommandResult[];
}

/** Key ids a device is known by here: its own registrations in this log, else earlier imported files. */
function knownKeys(sql: Sql, device: string): ReturnType<VerifyContext['knownKeys']> {
  const own = sql.all("SELECT json_extract(payload, '$.keyId') AS k FROM events WHERE type = 'device.key_registered' AND json_extract(payload, '$.device') = ?", [device]);
  if (own.length > 0) return { keyIds: new Set(own.map((r) => String(r['k']))), from: 'this database' };
  const earlier = sql.all("SELECT json_extract(record, '$.manifest.exporter.keyId') AS k FROM kernel_imports WHERE json_extract(record, '$.manifest.exporter.device') = ?", [device]);
  return earlier.length > 0 ? { keyIds: new Set(earlier.map((r) => String(r['k']))), from: 'an earlier file from it' } : null;
}

function report(file: WorkspaceFile, record: ImportRecord, importedAt: string, alreadyImported: boolean): WorkspaceImport {
  const ex = record.manifest.exporter;
  return {
    workspaceId: record.workspaceId, importId: record.importId, manifestHash: record.manifestHash, name: record.manifest.workspace.name,
    original: { workspaceId: record.manifest.workspace.id, name: record.manifest.workspace.name },
    source: { device: ex.device, name: ex.name, keyId: ex.keyId }, exportedAt: record.manifest.exportedAt,
    events: file.events.length, blobs: file.blobs.length, importedAt, alreadyImported,
  };
}

/** Read, verify and import `input` (bytes or text of a workspace file). */
export async function importWorkspaceFile(k: ImportParts, input: unknown, nowMs: () => number, stillOpen: () => void): Promise<WorkspaceImport> {
  const file = await readWorkspaceFile(input);
  await verifyWorkspaceFile(file, {
    definition: (type) => k.store.definition(type),
    upcast: (e: EventEnvelope) => k.store.upcast(e),
    knownKeys: (device) => knownKeys(k.sql, device),
  });
  stillOpen();
  const hash = manifestHash(file.manifest);
  const existing = activeImport(k.sql, hash);
  if (existing) return report(file, existing.record, existing.importedAt, true);
  const importId = uuidv7(nowMs());
  const { events: _e, blobs: _b, format: _f, ...manifest } = file.manifest;
  const record: ImportRecord = {
    workspaceId: copyId(importId, file.manifest.workspace.id), importId, manifestHash: hash, signature: file.signature,
    manifest, events: file.events.length, blobs: file.blobs.length,
  };
  let results: CommandResult[];
  try {
    results = k.systemBatch([
      { type: IMPORT_EVENTS_COMMAND, payload: { importId, manifestHash: hash, events: file.events }, idempotencyKey: `workspace-import:${importId}:events` },
      { type: IMPORT_COMMAND, payload: { record, blobs: file.blobs }, idempotencyKey: `workspace-import:${importId}` },
    ]);
  } catch (err) {
    const e = KernelError.from(err);
    if (e.code !== 'internal') throw e;
    throw invalidFile('not_applicable', `The file verified, but its events cannot be applied here (${e.message.slice(0, 300)}); nothing was written.`);
  }
  const value = results[1]!.value as { alreadyImported: boolean };
  const stored = activeImport(k.sql, hash)!;
  return report(file, stored.record, stored.importedAt, value.alreadyImported);
}

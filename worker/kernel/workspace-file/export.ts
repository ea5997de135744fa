/**
 * Exporting one workspace as a signed file (decision 40, docs/workspace-file.md).
 *
 * Invariants:
 * 1. The file holds every event of the workspace's streams (remap.ts, invariant 3) whose type has
 *    `scope: 'workspace'`, exactly as stored (fields, payload and hash), in merge order, and the
 *    blobs they reference (any `hash` in a payload that names a stored blob). Events of a removed
 *    device after its removal are left out: they apply nowhere here either.
 * 2. Nothing else leaves: no secret value (those are never in the log), no sealed secret share,
 *    no request to a session's owner, no device, kernel or sync event, nothing of another workspace.
 * 3. The manifest is signed with this device's key (format.ts, invariant 1). Exporting writes
 *    nothing to the database.
 */
import type { Sql } from '../db/sql.ts';
import type { Json } from '../errors.ts';
import { mergeKey, ORD_SQL, type WireEvent } from '../log/envelope.ts';
import { rowToEnvelope, type EventStore } from '../log/event-store.ts';
import { sign, type DeviceKeyPair } from '../log/keys.ts';
import type { ProjectionRegistry } from '../projections/registry.ts';
import {
  manifestHash, manifestMessage, workspaceFileName, WORKSPACE_FILE_FORMAT,
  type FileBlob, type Manifest, type WorkspaceFile, type WorkspaceFileExport,
} from './format.ts';
import { streamNamesWorkspace, workspaceOfFirst } from './remap.ts';
import { gzip } from './bytes.ts';

export interface ExportParts {
  readonly sql: Sql;
  readonly store: EventStore;
  readonly projections: ProjectionRegistry;
}

export interface Signer {
  readonly id: string;
  readonly key: DeviceKeyPair;
}

const COLUMNS = 'seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash';

/** The streams of workspace `w` (remap.ts, invariant 3). */
export function workspaceStreams(k: Pick<ExportParts, 'sql' | 'store'>, w: string): string[] {
  const out: string[] = [];
  for (const r of k.sql.all(`SELECT ${COLUMNS} FROM events WHERE stream_seq = 1`)) {
    const stream = String(r['stream']);
    if (streamNamesWorkspace(stream, w)) out.push(stream);
    else if (k.store.definition(String(r['type']))?.scope === 'workspace' && workspaceOfFirst(k.store.upcast(rowToEnvelope(r)).payload) === w) out.push(stream);
  }
  return out;
}

/** The workspace's events as stored, in merge order (invariant 1). */
export function workspaceEvents(k: ExportParts, w: string): WireEvent[] {
  const rows: { ord: string; e: WireEvent }[] = [];
  for (const stream of workspaceStreams(k, w)) {
    for (const r of k.sql.all(`SELECT ${COLUMNS}, ${ORD_SQL} AS ord FROM events WHERE stream = ? ORDER BY stream_seq`, [stream])) {
      const { seq: _s, streamSeq: _ss, ...e } = rowToEnvelope(r);
      if (k.store.definition(e.type)?.scope !== 'workspace') continue;
      const revoked = k.projections.revokedFrom(e.device);
      if (revoked !== undefined && mergeKey(e.hlc, e.device) >= revoked) continue;
      rows.push({ ord: String(r['ord']), e });
    }
  }
  return rows.sort((a, b) => (a.ord < b.ord ? -1 : a.ord > b.ord ? 1 : 0)).map((x) => x.e);
}

/** The stored blobs `events` reference, in first-reference order. */
function referencedBlobs(sql: Sql, events: readonly WireEvent[]): FileBlob[] {
  const hashes = new Set<string>();
  const walk = (v: Json): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [key, x] of Object.entries(v)) {
        if (key === 'hash' && typeof x === 'string' && /^[0-9a-f]{64}$/.test(x)) hashes.add(x);
        else walk(x);
      }
    }
  };
  for (const e of events) walk(e.payload);
  const out: FileBlob[] = [];
  for (const hash of hashes) {
    const row = sql.get('SELECT media_type, data FROM blobs WHERE hash = ?', [hash]);
    if (row) out.push({ hash, mediaType: String(row['media_type']), data: String(row['data']) });
  }
  return out;
}

/** Build and sign the file of workspace `workspace` (its id, and its name as people know it). */
export async function buildWorkspaceFile(
  k: ExportParts, signer: Signer, workspace: { readonly id: string; readonly name: string; readonly description?: string },
  nowMs: number, kernelVersion: string,
): Promise<WorkspaceFile> {
  const events = workspaceEvents(k, workspace.id);
  const blobs = referencedBlobs(k.sql, events);
  const head = k.store.chainHead(signer.id);
  const name = k.sql.value('SELECT name FROM kernel_devices WHERE device = ?', [signer.id]);
  const manifest: Manifest = {
    format: WORKSPACE_FILE_FORMAT,
    workspace: { id: workspace.id, name: workspace.name, description: workspace.description ?? '' },
    exporter: {
      device: signer.id, name: typeof name === 'string' && name.length > 0 ? name : null,
      keyId: signer.key.keyId, publicKey: signer.key.publicKeyHex, head: { deviceSeq: head.deviceSeq, hash: head.hash },
    },
    exportedAt: new Date(nowMs).toISOString(),
    kernelVersion,
    events: events.map((e) => [e.hash, e.type] as [string, string]),
    blobs: blobs.map((b) => b.hash),
  };
  const signature = await sign(signer.key.privateKey, manifestMessage(manifest));
  return { format: WORKSPACE_FILE_FORMAT, manifest, signature, events, blobs };
}

/** The file as bytes to save: JSON, gzip-compressed when asked and the platform has CompressionStream. */
export async function encodeWorkspaceFile(file: WorkspaceFile, compress: boolean): Promise<WorkspaceFileExport> {
  const json = new TextEncoder().encode(JSON.stringify(file));
  const zipped = compress ? await gzip(json) : null;
  return {
    fileName: workspaceFileName(file.manifest.workspace.name, file.manifest.exportedAt, zipped !== null),
    mediaType: zipped ? 'application/gzip' : 'application/json',
    bytes: zipped ?? json,
    gzip: zipped !== null,
    events: file.events.length,
    blobs: file.blobs.length,
    manifestHash: manifestHash(file.manifest),
  };
}

/**
 * The workspace file (`kingdom.workspace/1`, docs/workspace-file.md): one workspace's events as
 * stored, the blobs they reference, and a manifest signed by the exporting device.
 *
 * Invariants:
 * 1. Only the manifest is signed: message `kingdom.workspace-file/1\n` + canonicalJson(manifest),
 *    Ed25519 with the exporting device's key. The manifest lists every event's hash and type in
 *    file order and every blob's hash, so the signature covers all content through the hashes.
 * 2. `fileSchema` bounds every string and list (LIMITS); a file outside them is `invalid_file`
 *    before anything else is looked at. Nothing here trusts the file: verify.ts checks the rest.
 * 3. The manifest hash (sha256 of its canonical JSON) names the file: importing a file whose
 *    manifest hash is already imported (and not removed) writes nothing.
 */
import { z } from 'zod';
import { KernelError, type Json } from '../errors.ts';
import { canonicalJson } from '../log/canonical.ts';
import { sha256Hex } from '../log/hash.ts';
import { HLC_PATTERN } from '../log/hlc.ts';
import type { WireEvent } from '../log/envelope.ts';

export const WORKSPACE_FILE_FORMAT = 'kingdom.workspace/1';
export const MANIFEST_DOMAIN = 'kingdom.workspace-file/1\n';

/** Documented limits (docs/workspace-file.md): bigger input is refused before it is parsed. */
export const LIMITS = {
  /** The file as received (compressed or not). */
  fileBytes: 64 * 1024 * 1024,
  /** Its JSON text after decompression. */
  jsonBytes: 128 * 1024 * 1024,
  events: 200_000,
  blobs: 10_000,
} as const;

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`), `expected ${n} lowercase hex characters`);
// eslint-disable-next-line no-control-regex
const line = (max: number) => z.string().min(1).max(max).regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters');
const json: z.ZodType<Json> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]));
const eventType = z.string().min(1).max(200).regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'expected a dotted event type');

export const manifestSchema = z.strictObject({
  format: z.literal(WORKSPACE_FILE_FORMAT),
  workspace: z.strictObject({ id: line(100), name: line(200), description: z.string().max(2000) }),
  exporter: z.strictObject({
    device: line(200),
    name: line(200).nullable(),
    keyId: hex(16),
    publicKey: hex(64),
    /** The exporting device's own chain head when it exported. */
    head: z.strictObject({ deviceSeq: z.number().int().min(0), hash: hex(64) }),
  }),
  exportedAt: line(40),
  kernelVersion: line(40),
  /** Every event of the file, in file order: [hash, type]. */
  events: z.array(z.tuple([hex(64), eventType])).max(LIMITS.events),
  /** Every blob of the file, in file order. */
  blobs: z.array(hex(64)).max(LIMITS.blobs),
});

export const fileEventSchema = z.strictObject({
  id: line(200),
  device: line(200),
  deviceSeq: z.number().int().min(1),
  hlc: z.string().regex(HLC_PATTERN, 'expected 16 lowercase hex characters'),
  prev: hex(64),
  stream: line(2000),
  streamBase: z.number().int().min(0),
  type: eventType,
  v: z.number().int().min(1),
  at: line(100),
  actor: z.string().max(2000),
  payload: json,
  hash: hex(64),
});

export const fileBlobSchema = z.strictObject({ hash: hex(64), mediaType: line(200), data: z.string() });

export const fileSchema = z.strictObject({
  format: z.literal(WORKSPACE_FILE_FORMAT),
  manifest: manifestSchema,
  signature: hex(128),
  events: z.array(fileEventSchema).max(LIMITS.events),
  blobs: z.array(fileBlobSchema).max(LIMITS.blobs),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type FileBlob = z.infer<typeof fileBlobSchema>;
export interface WorkspaceFile {
  readonly format: typeof WORKSPACE_FILE_FORMAT;
  readonly manifest: Manifest;
  readonly signature: string;
  readonly events: readonly WireEvent[];
  readonly blobs: readonly FileBlob[];
}

/** What `exportWorkspace` hands back: the file's bytes and what a person needs to save it. */
export interface WorkspaceFileExport {
  readonly fileName: string;
  readonly mediaType: 'application/json' | 'application/gzip';
  readonly bytes: Uint8Array;
  readonly gzip: boolean;
  readonly events: number;
  readonly blobs: number;
  readonly manifestHash: string;
}

/** Where an imported copy came from (the `workspace.imported` record, `workspace.list`'s `imported`). */
export interface ImportedFrom {
  readonly importId: string;
  readonly manifestHash: string;
  /** The workspace in the exporter's database. */
  readonly original: { readonly workspaceId: string; readonly name: string };
  readonly source: { readonly device: string; readonly name: string | null; readonly keyId: string };
  readonly exportedAt: string;
  readonly events: number;
  readonly blobs: number;
}

/** What `importWorkspace` answers. */
export interface WorkspaceImport extends ImportedFrom {
  /** The read-only copy's workspace id. */
  readonly workspaceId: string;
  readonly name: string;
  readonly importedAt: string;
  /** The same file was imported before (and not removed): nothing was written now. */
  readonly alreadyImported: boolean;
}

export function manifestMessage(m: Manifest): string {
  return MANIFEST_DOMAIN + canonicalJson(m as unknown as Json);
}

export function manifestHash(m: Manifest): string {
  return sha256Hex(canonicalJson(m as unknown as Json));
}

/** `invalid_file` with a sentence and a reason (docs/workspace-file.md, "Errors"). */
export function invalidFile(reason: string, message: string, details: { [k: string]: Json } = {}): KernelError {
  return new KernelError('invalid_file', message, { reason, ...details });
}

/** `file_not_verified`: the sentence names the first broken item and ends with what to do. */
export function notVerified(reason: string, message: string, details: { [k: string]: Json } = {}): KernelError {
  return new KernelError('file_not_verified', `${message} The file cannot be trusted: ask for a new export.`, { reason, ...details });
}

/** `deploy-notes-2026-01-31.kingdom-workspace.json` (+ `.gz`). */
export function workspaceFileName(name: string, exportedAt: string, gzip: boolean): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'workspace';
  return `${slug}-${exportedAt.slice(0, 10)}.kingdom-workspace.json${gzip ? '.gz' : ''}`;
}

/**
 * Verifying a workspace file before anything is written (decision 40, docs/workspace-file.md,
 * "Verification"). Every check reads the file only; the first failure throws, naming the first
 * broken item in file order.
 *
 * Invariants:
 * 1. Order: the format (invalid_file: version, shape, limits), then the manifest (its key id is
 *    its public key's, its signature verifies, and a device already known here by another key is
 *    refused), then every event in file order (not a repeat, its hash recomputes from its
 *    content, it is the event the signed list has at its place), the list's tail (nothing
 *    missing), the blobs (hash of the data, the signed list), and last what the content may be:
 *    known types that belong to a workspace, every stream of the exported workspace, every
 *    payload valid for its type.
 * 2. What is NOT verified: the chain links between the events (a workspace's events are not
 *    contiguous in any device's chain; decision 32) and, the first time a device is seen, that
 *    its key is the one its owner holds: the key id is shown, for a person to compare.
 */
import type { Json } from '../errors.ts';
import { zodError } from '../commands/envelope.ts';
import { hashEvent, type EventEnvelope, type WireEvent } from '../log/envelope.ts';
import { keyIdOf, verifySignature } from '../log/keys.ts';
import { sha256Hex } from '../log/hash.ts';
import type { EventDefinition } from '../module.ts';
import { fileSchema, invalidFile, manifestMessage, notVerified, WORKSPACE_FILE_FORMAT, type WorkspaceFile } from './format.ts';
import { parseFileInput } from './bytes.ts';
import { streamNamesWorkspace, workspaceOfFirst } from './remap.ts';

export interface VerifyContext {
  definition(type: string): EventDefinition | undefined;
  upcast(e: EventEnvelope): EventEnvelope;
  /** Key ids this database already knows `device` by, and from where ("this database", "an earlier file"). */
  knownKeys(device: string): { readonly keyIds: ReadonlySet<string>; readonly from: string } | null;
}

/** Read (bytes or text, gzip or not) and check the shape of a workspace file: invalid_file otherwise. */
export async function readWorkspaceFile(input: unknown): Promise<WorkspaceFile> {
  const value = await parseFileInput(input);
  const format = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { format?: unknown }).format : undefined;
  if (format !== WORKSPACE_FILE_FORMAT) {
    if (format === 'kingdom.log/2') throw invalidFile('wrong_format', 'This is a full log export (kingdom.log/2), not a workspace file. Export one workspace from the Workspaces screen and open that file.', { format });
    if (typeof format === 'string' && format.startsWith('kingdom.workspace/')) {
      throw invalidFile('unsupported_version', `This workspace file has format ${format.slice(0, 40)}, which this version of Kingdom cannot read; update Kingdom to open it.`, { format: format.slice(0, 100) });
    }
    throw invalidFile('wrong_format', `This is not a Kingdom workspace file: it is JSON, but not of format ${WORKSPACE_FILE_FORMAT}.`);
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const [top, index, ...rest] = issue.path.map(String);
    const where = (top === 'events' || top === 'blobs') && index !== undefined && /^\d+$/.test(index)
      ? `${top === 'events' ? 'Event' : 'Attachment'} ${Number(index) + 1}${rest.length ? ` (${rest.join('.')})` : ''}`
      : issue.path.map(String).join('.') || 'The file';
    throw invalidFile('malformed', `This workspace file is damaged: ${where}: ${issue.message}. Ask for a new export.`, { issues: zodError('invalid_file', 'file', '', parsed.error).details['issues'] ?? null });
  }
  return parsed.data as WorkspaceFile;
}

/** Verify `file` (invariant 1); throws `file_not_verified` / `invalid_file` naming the first broken item. */
export async function verifyWorkspaceFile(file: WorkspaceFile, ctx: VerifyContext): Promise<void> {
  const m = file.manifest;
  const ex = m.exporter;
  const who = ex.name ? `${ex.name} (${ex.device})` : ex.device;
  if (keyIdOf(ex.publicKey) !== ex.keyId) {
    throw notVerified('signature', `The manifest names key ${ex.keyId}, but its public key is another one: the manifest was changed after export.`);
  }
  if (!(await verifySignature(ex.publicKey, file.signature, manifestMessage(m)))) {
    throw notVerified('signature', `The manifest's signature does not verify with the key of device ${who} (key ${ex.keyId}): the manifest was changed or re-signed after export.`);
  }
  const known = ctx.knownKeys(ex.device);
  if (known && known.keyIds.size > 0 && !known.keyIds.has(ex.keyId)) {
    throw notVerified('key', `The file says it comes from device ${who}, but it is signed with key ${ex.keyId}, and ${known.from} knows that device by ${[...known.keyIds].join(', ')}: it was re-signed by someone else.`, { keyId: ex.keyId });
  }
  checkEvents(file);
  checkBlobs(file);
  checkContent(file, ctx);
}

function checkEvents(file: WorkspaceFile): void {
  const list = file.manifest.events;
  const listPos = new Map(list.map(([h], i) => [h, i]));
  const inFile = new Set(file.events.map((e) => e.hash));
  const seenHash = new Map<string, number>();
  const seenId = new Map<string, number>();
  file.events.forEach((e, i) => {
    const n = i + 1;
    const at = { event: n, type: e.type };
    const repeat = seenHash.get(e.hash) ?? seenId.get(e.id);
    if (repeat !== undefined) throw notVerified('duplicated', `Event ${n} (${e.type}) repeats event ${repeat + 1}: an event was copied or replayed into the file.`, at);
    seenHash.set(e.hash, i);
    seenId.set(e.id, i);
    const { hash, ...fields } = e;
    if (hashEvent(fields) !== hash) throw notVerified('changed', `Event ${n} (${e.type}) was changed after export.`, at);
    const expected = list[i];
    if (expected && expected[0] === hash) return;
    const j = listPos.get(hash);
    if (j === undefined) {
      if (expected && !inFile.has(expected[0]) && expected[1] === e.type) throw notVerified('changed', `Event ${n} (${e.type}) was changed after export.`, at);
      throw notVerified('added', `Event ${n} (${e.type}) is not one the exporter signed: it was added after export.`, at);
    }
    if (expected && !inFile.has(expected[0])) {
      throw notVerified('missing', `Event ${n} (${expected[1]}) is missing from the file: it was removed after export.`, { event: n, type: expected[1] });
    }
    throw notVerified('reordered', `Event ${n} (${e.type}) is out of place: the exporter signed it as event ${j + 1}; the events were reordered.`, at);
  });
  if (file.events.length < list.length) {
    const [, type] = list[file.events.length]!;
    throw notVerified('missing', `Event ${file.events.length + 1} (${type}) is missing from the file: it was removed or the file was cut short.`, { event: file.events.length + 1, type });
  }
}

function checkBlobs(file: WorkspaceFile): void {
  const list = file.manifest.blobs;
  file.blobs.forEach((b, i) => {
    const n = i + 1;
    if (sha256Hex(b.data) !== b.hash) throw notVerified('changed', `Attachment ${n} (a large step output) was changed after export.`, { blob: n });
    if (list[i] !== b.hash) throw notVerified(list.includes(b.hash) ? 'reordered' : 'added', `Attachment ${n} (a large step output) is not the one the exporter signed at its place.`, { blob: n });
  });
  if (file.blobs.length < list.length) throw notVerified('missing', `Attachment ${file.blobs.length + 1} (a large step output) is missing from the file.`, { blob: file.blobs.length + 1 });
}

/** Known types of a workspace, every stream the exported workspace's, every payload valid (invariant 1). */
function checkContent(file: WorkspaceFile, ctx: VerifyContext): void {
  const w = file.manifest.workspace.id;
  const member = new Map<string, boolean>();
  file.events.forEach((e: WireEvent, i) => {
    const n = i + 1;
    const at = { event: n, type: e.type };
    const def = ctx.definition(e.type);
    if (!def) throw invalidFile('unknown_type', `Event ${n} (${e.type}) is of a kind this version of Kingdom does not know; update Kingdom to open the file.`, at);
    if (def.scope !== 'workspace') throw notVerified('not_workspace', `Event ${n} (${e.type}) cannot be part of a workspace: a workspace file never carries it.`, at);
    if (e.v > def.version) throw invalidFile('unsupported_version', `Event ${n} (${e.type}) was written by a newer version of Kingdom; update Kingdom to open the file.`, at);
    let lifted: EventEnvelope;
    try {
      lifted = ctx.upcast({ ...e, seq: n, streamSeq: 0 });
    } catch {
      throw notVerified('invalid_event', `Event ${n} (${e.type}) cannot be read as its kind.`, at);
    }
    if (!member.has(e.stream)) member.set(e.stream, streamNamesWorkspace(e.stream, w) || workspaceOfFirst(lifted.payload) === w);
    if (!member.get(e.stream)) {
      throw notVerified('foreign', `Event ${n} (${e.type}) belongs to another workspace (stream ${e.stream.slice(0, 120)}), not to “${file.manifest.workspace.name}”.`, at);
    }
    const valid = def.schema.safeParse(lifted.payload);
    if (!valid.success) {
      const issue = valid.error.issues[0]!;
      throw notVerified('invalid_event', `Event ${n} (${e.type}) is not a valid ${e.type}: payload.${issue.path.map(String).join('.')}: ${issue.message}.`, at as { [k: string]: Json });
    }
  });
}

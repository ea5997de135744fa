/**
 * The ids of an imported copy, and which streams belong to a workspace.
 *
 * Invariants:
 * 1. An imported copy never shares an id with anything else: every UUID in an imported event's
 *    stream and payload is replaced by `copyId(importId, id)`, a deterministic UUID (version 8)
 *    derived from the import and the original id. So the same original imported twice, or into
 *    the database it came from, or next to the original arriving by sync, never collides, and
 *    every device derives the same copy ids from the same import event. Device ids (`dev-<uuid>`)
 *    are left alone: they name who wrote the original.
 * 2. Remapping is a pure function of (importId, text): applied when the copy is read (projections,
 *    the session fold), never stored, so the stored original still hashes to its hash.
 * 3. Scope (decision 18): a stream belongs to workspace W when its name carries W
 *    (`workspace:W`, `<kind>:W/<name>`) or its first event (upcast) has `payload.workspaceId` W —
 *    the workspace is in the log once per entity, where the entity begins.
 */
import { sha256Hex } from '../log/hash.ts';
import type { Json } from '../errors.ts';

const UUID = /(?<!dev-)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;

/** The copy's id for original id `id` in import `importId`. */
export function copyId(importId: string, id: string): string {
  const h = sha256Hex(`kingdom.workspace-copy/1\n${importId}\n${id}`);
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** `text` with every UUID replaced by its copy id (JSON text included: UUIDs need no escaping). */
export function remapText(text: string, importId: string): string {
  return text.replace(UUID, (id) => copyId(importId, id));
}

/** A JSON value with every UUID in its strings (and keys) replaced by its copy id. */
export function remapJson(value: Json, importId: string): Json {
  return JSON.parse(remapText(JSON.stringify(value), importId)) as Json;
}

/** Whether `stream`'s name places it in workspace `w`. */
export function streamNamesWorkspace(stream: string, w: string): boolean {
  return stream === `workspace:${w}` || stream.includes(`:${w}/`);
}

/** The workspace a stream's first event (upcast) places it in, if it names one. */
export function workspaceOfFirst(payload: Json): string | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null;
  const w = payload['workspaceId'];
  return typeof w === 'string' ? w : null;
}

/**
 * Payload schemas of the Forest knowledge graph (strict: unknown fields are rejected).
 *
 * Invariants:
 * 1. Tags are normalised by `normaliseTags` (trim, lower-case, inner whitespace → '-', unique, in
 *    first-seen order) before they enter an event; events only ever carry normalised tags.
 * 2. Bodies are measured in UTF-8 bytes (≤ 1 MiB), as SQLite stores them.
 */
import { z } from 'zod';
import { isWellFormed } from '../../kernel/commands/envelope.ts';
import { workspaceField, workspaceIdSchema } from '../workspaces/scope.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_TAGS = 64;
export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_DEPTH = 4;

const utf8 = new TextEncoder();

export const id = z.uuid({ message: 'expected a UUID' });
export const title = z
  .string()
  .trim()
  .min(1, 'must not be empty; send a title of 1–300 characters')
  .max(300, 'is too long; send at most 300 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters (a title is one line)')
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)');
export const body = z
  .string()
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)')
  .refine((s) => s.length <= MAX_BODY_BYTES && utf8.encode(s).length <= MAX_BODY_BYTES, 'is too large; a body is at most 1 MiB of UTF-8');
export const tag = z
  .string()
  .trim()
  .min(1, 'a tag must not be empty')
  .max(64, 'a tag is at most 64 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f,#]*$/, 'a tag must not contain control characters, commas or #')
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)');
export const tags = z.array(tag).max(MAX_TAGS, `at most ${MAX_TAGS} tags`);
export const metadata = z
  .record(z.string(), z.json())
  .refine((m) => utf8.encode(JSON.stringify(m)).length <= MAX_METADATA_BYTES, 'is too large; metadata is at most 64 KiB of JSON');
export const linkType = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'a link type is lower-case letters, digits and _ (e.g. relates_to, derived_from, mentions, read_by, wrote)');
export const direction = z.enum(['out', 'in', 'both']);

export const nodeCreate = z.strictObject({
  /** The workspace the node belongs to (default: the default workspace); its links stay inside it. */
  workspaceId: workspaceField,
  /** A project of that workspace the node is filed under (optional). */
  projectId: id.optional(),
  nodeId: id.optional(),
  title,
  body: body.optional(),
  tags: tags.optional(),
  metadata: metadata.optional(),
  sessionId: id.optional(),
});
export const nodeUpdate = z.strictObject({
  nodeId: id,
  title: title.optional(),
  body: body.optional(),
  tags: tags.optional(),
  metadata: metadata.optional(),
  sessionId: id.optional(),
});
export const nodeRef = z.strictObject({ nodeId: id, sessionId: id.optional() });
export const linkCreate = z.strictObject({ from: id, to: id, type: linkType, metadata: metadata.optional(), sessionId: id.optional() });
export const linkRef = z.strictObject({ from: id, to: id, type: linkType, sessionId: id.optional() });

// Events (current versions).
const sessionField = id.nullable();
export const nodeCreated = z.strictObject({ nodeId: id, workspaceId: workspaceIdSchema, projectId: id.optional(), title, body: z.string(), tags: z.array(z.string()), metadata: z.record(z.string(), z.json()), sessionId: sessionField });
export const nodeUpdated = z.strictObject({
  nodeId: id,
  title: title.optional(),
  body: z.string().optional(),
  tags: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.json()).optional(),
  sessionId: sessionField,
});
export const nodeDeleted = z.strictObject({ nodeId: id, sessionId: sessionField });
export const linkCreated = z.strictObject({ from: id, to: id, type: linkType, metadata: z.record(z.string(), z.json()), sessionId: sessionField });
export const linkDeleted = z.strictObject({ from: id, to: id, type: linkType, sessionId: sessionField });

export type NodeCreate = z.infer<typeof nodeCreate>;
export type NodeUpdate = z.infer<typeof nodeUpdate>;
export type NodeRef = z.infer<typeof nodeRef>;
export type LinkCreate = z.infer<typeof linkCreate>;
export type LinkRef = z.infer<typeof linkRef>;

/** Trim, lower-case, whitespace runs → '-', drop duplicates (first occurrence wins). */
export function normaliseTags(list: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const raw of list ?? []) {
    const t = raw.trim().toLowerCase().replace(/\s+/g, '-');
    if (t && !out.includes(t)) out.push(t);
  }
  return out;
}

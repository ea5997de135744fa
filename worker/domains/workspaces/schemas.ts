/**
 * Payload schemas of the workspace slice's commands and events (strict: unknown fields rejected).
 */
import { z } from 'zod';
import { isWellFormed } from '../../kernel/commands/envelope.ts';

export const id = z.uuid({ message: 'expected a UUID' });
export const name = z
  .string()
  .trim()
  .min(1, 'must not be empty; send a name of 1–120 characters')
  .max(120, 'is too long; send at most 120 characters')
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
  .refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)');
export const description = z.string().max(2000, 'is too long; send at most 2000 characters');

export const workspaceCreate = z.strictObject({ workspaceId: id.optional(), name, description: description.optional() });
export const workspaceRename = z.strictObject({ workspaceId: id, name });
export const workspaceRef = z.strictObject({ workspaceId: id });

export const projectCreate = z.strictObject({ workspaceId: id, projectId: id.optional(), name, description: description.optional() });
export const projectRename = z.strictObject({ projectId: id, name });
export const projectRef = z.strictObject({ projectId: id });

// Events (current versions).
export const workspaceCreated = z.strictObject({ workspaceId: id, name, description: z.string() });
export const workspaceRenamed = z.strictObject({ workspaceId: id, name, previousName: z.string() });
export const workspaceOpened = z.strictObject({ workspaceId: id });
export const workspaceArchived = z.strictObject({ workspaceId: id });

export const projectCreated = z.strictObject({ projectId: id, workspaceId: id, name, description: z.string() });
export const projectRenamed = z.strictObject({ projectId: id, name, previousName: z.string() });
export const projectArchived = z.strictObject({ projectId: id, workspaceId: id });

export type WorkspaceCreate = z.infer<typeof workspaceCreate>;
export type WorkspaceRename = z.infer<typeof workspaceRename>;
export type WorkspaceRef = z.infer<typeof workspaceRef>;
export type ProjectCreate = z.infer<typeof projectCreate>;
export type ProjectRename = z.infer<typeof projectRename>;
export type ProjectRef = z.infer<typeof projectRef>;

/**
 * What the realms domain's definitions (install.ts, queries.ts) and its on-demand logic
 * (install-logic.ts, query-logic.ts) share: the install requests' schemas and stream, the check
 * that a request is in the expected state, and the discovery query's schema. Here so the logic
 * that loads on demand imports none of the definitions that load it.
 */
import { z } from 'zod';
import type { Decision } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { workspaceField } from '../workspaces/scope.ts';
import type { InstallRow } from './state.ts';

/** A pack handed to the kernel at most (its text): 8 MiB. */
export const MAX_INSTALL_PACK = 8 * 1024 * 1024;
export const installStream = (requestId: string): string => `realm-install:${requestId}`;

export const requestSchema = z.strictObject({ workspaceId: workspaceField, realm: z.string().min(1).max(64), name: z.string().min(1).max(300), version: z.string().min(1).max(100) });
export const refSchema = z.strictObject({ requestId: z.uuid() });
export const rejectSchema = z.strictObject({ requestId: z.uuid(), reason: z.string().min(1).max(2000) });
export const completeSchema = z.strictObject({ requestId: z.uuid(), pack: z.string().min(1).max(MAX_INSTALL_PACK) });
export const failSchema = z.strictObject({ requestId: z.uuid(), code: z.string().min(1).max(60), message: z.string().min(1).max(2000) });
export const uninstallSchema = z.strictObject({ workspaceId: workspaceField, name: z.string().min(1).max(300) });
export type Request = z.infer<typeof requestSchema>;

export const one = (requestId: string, type: string, payload: Json, value: Json = { requestId }): Decision => ({ events: [{ stream: installStream(requestId), type, payload }], value });

export function pending(row: InstallRow | undefined, requestId: string, status: InstallRow['status']): InstallRow {
  if (!row) throw new KernelError('not_found', `There is no install request ${requestId}.`, { requestId });
  if (row.status !== status) throw new KernelError('invalid_state', `The install request of ${row.name}@${row.version} is ${row.status}, not ${status}.`, { requestId, status: row.status });
  return row;
}

export const katasSchema = z.strictObject({
  workspaceId: workspaceField,
  query: z.string().max(200).optional(),
  tags: z.array(z.string().max(40)).max(20).optional(),
  complexity: z.enum(['simple', 'moderate', 'complex']).optional(),
  skills: z.array(z.string().max(200)).max(20).optional(),
  realm: z.string().max(64).optional(),
});

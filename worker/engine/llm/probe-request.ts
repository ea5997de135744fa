/**
 * What "Test connection" asks for (KingdomApi.testProvider): a provider of a workspace, optionally
 * the model to ask and the deadline. Validated like a query's params (`invalid_query`).
 */
import { z } from 'zod';
import '../../kernel/zod-setup.ts';
/** Below the 20 s a follower tab waits for the leader to answer a forwarded call. */
export const PROBE_MAX_TIMEOUT_MS = 18_000;

export const providerTestSchema = z.strictObject({
  workspaceId: z.string().min(1).max(200).optional(),
  id: z.string().min(1).max(40),
  model: z.string().min(1).max(200).optional(),
  timeoutMs: z.number().int().min(100).max(PROBE_MAX_TIMEOUT_MS).optional(),
});

export type ProviderTestRequest = z.input<typeof providerTestSchema>;

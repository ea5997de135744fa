/**
 * The command envelope `{ type, payload, idempotencyKey, expectedVersion? }` and how zod issues
 * become KernelErrors that name the field and the fix.
 */
import { z } from 'zod';
import { KernelError, type ErrorCode, type Json } from '../errors.ts';

/** SQLite stores TEXT as UTF-8: a lone surrogate would turn into U+FFFD and break hashes and lookups. */
export function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}
const wellFormed = 'must be well-formed Unicode (no lone surrogates)';

export const commandEnvelopeSchema = z.strictObject({
  type: z.string().min(1).max(200).regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'expected a dotted command type like "workspace.create"'),
  payload: z.unknown().optional(),
  idempotencyKey: z.string().min(1).max(200).refine(isWellFormed, wellFormed).optional(),
  expectedVersion: z.number().int().min(0).optional(),
  actor: z.string().min(1).max(200).refine(isWellFormed, wellFormed).optional(),
});

export type CommandInput = {
  readonly type: string;
  readonly payload?: unknown;
  readonly idempotencyKey?: string;
  readonly expectedVersion?: number;
  /** Who issues the command; defaults to the kernel's actor. */
  readonly actor?: string;
};

export interface CommandResult {
  readonly type: string;
  readonly value: Json;
  readonly events: readonly { id: string; seq: number; stream: string; streamSeq: number; type: string }[];
  /** Version of the command's target stream after it (0 when it appended nothing). */
  readonly streamVersion: number;
  /** True when this is the stored answer to an earlier command with the same idempotency key. */
  readonly replayed: boolean;
}

/** Turn a zod failure into a KernelError naming each field (`payload.name`) and what to send. */
export function zodError(code: ErrorCode, where: string, prefix: string, error: z.ZodError): KernelError {
  const issues = error.issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    return { path: path || prefix || '(root)', message: fixHint(i), code: i.code };
  });
  const text = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
  return new KernelError(code, `${where}: ${text}${issues.length > 5 ? ` (and ${issues.length - 5} more)` : ''}`, {
    issues: issues as unknown as Json,
  });
}

function fixHint(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') {
    return `unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}; remove ${i.keys.length > 1 ? 'them' : 'it'}`;
  }
  if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return `required (expected ${i.expected}); add it`;
  return i.message;
}

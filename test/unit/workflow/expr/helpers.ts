/**
 * Shared assertions for the expression tests.
 *
 * Invariants:
 * 1. `expectExprError` passes only for an `ExpressionError` with the given code (and position,
 *    when given) whose message names that position.
 */
import assert from 'node:assert/strict';
import { ExpressionError, type ExpressionErrorCode } from '../../../../worker/workflow/expr/index.ts';

export function expectExprError(fn: () => unknown, code: ExpressionErrorCode, position?: number, messagePart?: string | RegExp): ExpressionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ExpressionError, `expected an ExpressionError, got ${caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (position !== undefined) assert.equal(caught.position, position, caught.message);
  assert.match(caught.message, new RegExp(`at position ${caught.position} `));
  if (typeof messagePart === 'string') assert.ok(caught.message.includes(messagePart), caught.message);
  else if (messagePart) assert.match(caught.message, messagePart);
  return caught;
}

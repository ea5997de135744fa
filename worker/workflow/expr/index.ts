/**
 * The safe expression language: parse once, evaluate against a scope, no `eval`.
 *
 * Invariants:
 * 1. This is the language's entry point: the rest of the engine imports from here (only
 *    ../templates.ts, the language's own renderer, also reads ast.ts limits and values.ts).
 * 2. Nothing here evaluates code: jsep (through a private subclass, parse.ts) builds a tree and a
 *    small interpreter (evaluate.ts) walks it over a whitelist of operators and pure functions.
 * 3. Every deliberate failure is an `ExpressionError` with `code` `invalid_expression` (refused
 *    at parse time) or `evaluation_error` (failed at run time) and a 0-based `position`.
 * The grammar, semantics, functions, limits and security rules are in docs/expressions.md.
 */
import type { Expr } from './ast.ts';
import { evaluate, type EvaluateOptions } from './evaluate.ts';
import { parseExpression } from './lower.ts';

export { parseExpression } from './lower.ts';
export { evaluate, isTruthy, type EvaluateOptions } from './evaluate.ts';
export { ExpressionError, type ExpressionErrorCode, type ExpressionErrorData } from './errors.ts';
export type { Expr } from './ast.ts';

/** `evaluate(parseExpression(source), scope, options)`; throws either code of `ExpressionError`. */
export function evaluateSource(source: string, scope: Record<string, unknown>, options?: EvaluateOptions): unknown {
  const expr: Expr = parseExpression(source);
  return evaluate(expr, scope, options);
}

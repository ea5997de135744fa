/**
 * The expression language's one error type.
 *
 * Invariants:
 * 1. Everything the parser, the interpreter, the functions and the template renderer reject on
 *    purpose is an `ExpressionError`; any other throwable escaping them is a bug.
 * 2. `code` is `invalid_expression` (the text was refused before running) or `evaluation_error`
 *    (it parsed, but running it against this scope failed); `position` is a 0-based character
 *    offset into the text the caller passed (the expression, or the whole template).
 * 3. `message` names the position and the fix; `toJSON()` is plain data, so the error survives
 *    structuredClone and the worker boundary.
 */

export const EXPRESSION_ERROR_CODES = {
  invalid_expression: 'The expression or template was refused before evaluation (syntax, forbidden construct or limit).',
  evaluation_error: 'The expression parsed but failed against this scope (wrong type, forbidden key or step budget).',
} as const;

export type ExpressionErrorCode = keyof typeof EXPRESSION_ERROR_CODES;

/** Where the position counts from: the expression's own text, or the template it sits in. */
export type ExpressionSubject = 'expression' | 'template';

export interface ExpressionErrorData {
  readonly name: 'ExpressionError';
  readonly code: ExpressionErrorCode;
  readonly message: string;
  readonly position: number;
}

export class ExpressionError extends Error {
  override readonly name = 'ExpressionError' as const;
  readonly code: ExpressionErrorCode;
  /** 0-based character offset into the expression (or template) text. */
  readonly position: number;
  /** What went wrong, without the position (used to relocate the error into a template). */
  readonly problem: string;
  /** How to fix it, as a sentence. */
  readonly fix: string;

  constructor(code: ExpressionErrorCode, problem: string, position: number, fix: string, subject: ExpressionSubject = 'expression') {
    super(`${problem} at position ${position} of the ${subject}. ${fix}`);
    this.code = code;
    this.position = position;
    this.problem = problem;
    this.fix = fix;
  }

  /** The same error with its position moved by `offset` and the message naming the template. */
  relocate(offset: number, subject: ExpressionSubject): ExpressionError {
    return new ExpressionError(this.code, this.problem, this.position + offset, this.fix, subject);
  }

  toJSON(): ExpressionErrorData {
    return { name: this.name, code: this.code, message: this.message, position: this.position };
  }
}

/** A refusal before evaluation (`invalid_expression`). */
export function invalid(problem: string, position: number, fix: string): ExpressionError {
  return new ExpressionError('invalid_expression', problem, position, fix);
}

/** A failure while evaluating (`evaluation_error`). */
export function failed(problem: string, position: number, fix: string): ExpressionError {
  return new ExpressionError('evaluation_error', problem, position, fix);
}

/**
 * The expression tree (`Expr`) and the language's limits.
 *
 * Invariants:
 * 1. An `Expr` is plain, frozen data (no functions, no prototypes beyond Object/Array): it can be
 *    cached, compared and sent across the worker boundary.
 * 2. Every node carries `pos`, the 0-based offset in the source that errors about it report.
 * 3. Member keys are expressions: `a.b` and `a['b']` both become `member(a, literal 'b')`, so one
 *    runtime check covers static and computed keys.
 */

export const LIMITS = {
  /** Longest accepted expression source, in UTF-16 code units. */
  maxSourceLength: 4_000,
  /** Deepest accepted nesting (parentheses, operands, arguments, branches) and tree depth. */
  maxDepth: 64,
  /** Default step budget: one step per node visit, plus one per element a function walks. */
  defaultMaxSteps: 10_000,
  /** Longest string an expression may build (concatenation, join, json, …). */
  maxStringLength: 1_000_000,
  /** Deepest data structure json()/toString()/templates will encode or renderDeep will walk. */
  maxDataDepth: 256,
} as const;

/** Keys that reach prototypes; refused as identifiers and as member keys (static or computed). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);

export const BINARY_OPERATORS = ['+', '-', '*', '/', '%', '==', '!=', '===', '!==', '<', '<=', '>', '>='] as const;
export type BinaryOperator = (typeof BINARY_OPERATORS)[number];

export const LOGICAL_OPERATORS = ['&&', '||', '??'] as const;
export type LogicalOperator = (typeof LOGICAL_OPERATORS)[number];

export const UNARY_OPERATORS = ['!', '-', '+'] as const;
export type UnaryOperator = (typeof UNARY_OPERATORS)[number];

export type LiteralValue = string | number | boolean | null | undefined;

export type Expr =
  | { readonly type: 'literal'; readonly value: LiteralValue; readonly pos: number }
  | { readonly type: 'identifier'; readonly name: string; readonly pos: number }
  | { readonly type: 'member'; readonly object: Expr; readonly property: Expr; readonly pos: number }
  | { readonly type: 'array'; readonly elements: readonly Expr[]; readonly pos: number }
  /** `{ key: value, … }`: keys are unique and never a FORBIDDEN_KEYS name. */
  | { readonly type: 'object'; readonly entries: readonly { readonly key: string; readonly value: Expr }[]; readonly pos: number }
  | { readonly type: 'unary'; readonly operator: UnaryOperator; readonly argument: Expr; readonly pos: number }
  | { readonly type: 'binary'; readonly operator: BinaryOperator; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly type: 'logical'; readonly operator: LogicalOperator; readonly left: Expr; readonly right: Expr; readonly pos: number }
  | { readonly type: 'conditional'; readonly test: Expr; readonly consequent: Expr; readonly alternate: Expr; readonly pos: number }
  | { readonly type: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly pos: number };

export type ExprType = Expr['type'];

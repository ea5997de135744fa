/**
 * The grammar's tables: operators with their precedence, refused operators and keywords with the
 * fix to suggest, named literals and string escapes.
 *
 * Invariants:
 * 1. These tables are this module's own (null-prototype or Map, frozen); jsep's global operator
 *    and literal tables are never read or written.
 * 2. Precedence follows JavaScript (higher binds tighter); `??` shares `||`'s level and, unlike
 *    JavaScript, may be mixed with it without parentheses (left to right).
 */

export const PRECEDENCE: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null) as Record<string, number>, {
  '||': 1, '??': 1, '&&': 2,
  '==': 6, '!=': 6, '===': 6, '!==': 6,
  '<': 7, '>': 7, '<=': 7, '>=': 7,
  '+': 9, '-': 9,
  '*': 10, '/': 10, '%': 10,
}));

const ASSIGN_FIX = 'Expressions are read-only; compare with == or ===.';
export const BITWISE_FIX = 'Bitwise operators are not supported; use && and || for logic.';
type Refusal = readonly [problem: string, fix: string];
export const FORBIDDEN_OPERATORS: ReadonlyMap<string, Refusal> = new Map<string, Refusal>([
  ...['=', '+=', '-=', '*=', '/=', '%=', '**=', '<<=', '>>=', '>>>=', '&=', '|=', '^=', '&&=', '||=', '??=']
    .map((op): [string, Refusal] => [op, [`Assignment ("${op}") is not allowed`, ASSIGN_FIX]]),
  ...['|', '&', '^', '<<', '>>', '>>>'].map((op): [string, Refusal] => [op, [`The bitwise operator "${op}" is not supported`, BITWISE_FIX]]),
  ['=>', ['Arrow functions are not allowed', 'Only the whitelisted functions in docs/expressions.md can be called.']],
  ['**', ['The operator "**" is not supported', 'Multiply explicitly, e.g. x * x.']],
  ['++', ['Increment ("++") is not allowed', 'Expressions are read-only; write x + 1.']],
  ['--', ['Decrement ("--") is not allowed', 'Expressions are read-only; write x - 1 (or x - -1 with a space).']],
]);

export const KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['this', 'Read values from the scope by name, e.g. inputs.x.'],
  ['new', 'Expressions cannot construct objects; only whitelisted functions can be called.'],
  ['function', 'Functions cannot be defined; only whitelisted functions can be called.'],
  ...['typeof', 'void', 'delete', 'in', 'instanceof', 'class', 'await', 'yield', 'import', 'super', 'var', 'let',
    'const', 'return', 'throw', 'if', 'else', 'for', 'while', 'do', 'switch', 'case', 'try', 'catch', 'finally',
    'with', 'debugger', 'export', 'extends', 'break', 'continue']
    .map((k) => [k, 'Only the operators and functions in docs/expressions.md are supported.'] as const),
]);

export const LITERALS: ReadonlyMap<string, boolean | null | undefined> = new Map<string, boolean | null | undefined>([
  ['true', true], ['false', false], ['null', null], ['undefined', undefined],
]);

export const ESCAPES: Readonly<Record<string, string>> = Object.assign(Object.create(null) as Record<string, string>, {
  n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', 0: '\0',
});


/**
 * Templates: `{{ expr }}` placeholders in strings, rendered with the safe expression evaluator.
 *
 * Invariants:
 * 1. A template that is exactly one placeholder (nothing before or after) renders to the raw value
 *    (number, boolean, object, array, null, undefined), so `"{{ inputs.count }}"` stays a number.
 * 2. Otherwise each placeholder becomes text: strings as they are, numbers/booleans via String,
 *    arrays/objects as JSON, `null`/`undefined` as ''.
 * 3. `\{{` is a literal `{{` (the backslash is dropped); every other backslash is kept. Inside a
 *    placeholder, `}}` within a quoted string does not close it.
 * 4. Errors are `ExpressionError`s whose `position` is an offset into the TEMPLATE (not the
 *    placeholder); an unterminated `{{` is `invalid_expression` at the `{{`.
 * 5. `renderDeep` returns new arrays and plain objects, never copies a `__proto__` key and never
 *    runs getters; keys are not rendered, only string values.
 * 6. `templateReferences` is static: it parses but never evaluates.
 */
import type { Expr } from './expr/ast.ts';
import { LIMITS } from './expr/ast.ts';
import { ExpressionError, evaluate, parseExpression, type EvaluateOptions } from './expr/index.ts';
import { isPlainObject, readOwn, toText, type Budget } from './expr/values.ts';

/**
 * Render `template` against `scope` (invariants 1–4). Each placeholder gets its own step budget
 * (`options.maxSteps`). Throws `ExpressionError` with a template offset.
 */
export function renderTemplate(template: string, scope: Record<string, unknown>, options?: EvaluateOptions): unknown {
  const parts = parseTemplate(template);
  const only = parts[0];
  if (parts.length === 1 && only !== undefined && typeof only !== 'string' && only.whole) return run(only, scope, options);
  let out = '';
  for (const part of parts) {
    out += typeof part === 'string' ? part : toText(run(part, scope, options), textBudget(part.open));
  }
  return out;
}

/**
 * Render every string inside nested arrays and plain objects (invariant 5). Other values are
 * returned as they are. Throws `ExpressionError` (also past `LIMITS.maxDataDepth` levels).
 */
export function renderDeep(value: unknown, scope: Record<string, unknown>, options?: EvaluateOptions): unknown {
  return renderAt(value, scope, options, 0);
}

/**
 * The data paths a template reads, in order of first use, without duplicates: each maximal chain
 * of a name and literal keys, e.g. `inputs.x`, `steps.build.output.y`, `inputs.list[0]`,
 * `env["my-key"]`. A computed key ends the chain (`inputs.list[i]` gives `inputs.list` and `i`).
 * Throws `ExpressionError('invalid_expression')` if a placeholder does not parse.
 */
export function templateReferences(template: string): string[] {
  const found = new Set<string>();
  for (const part of parseTemplate(template)) if (typeof part !== 'string') collect(part.expr, found);
  return [...found];
}

/** `templateReferences` for a bare expression (e.g. a step's `if:` condition). */
export function expressionReferences(source: string): string[] {
  const found = new Set<string>();
  collect(parseExpression(source), found);
  return [...found];
}

// ---------------------------------------------------------------------------------------------

interface Placeholder {
  readonly expr: Expr;
  /** Offset of `{{` in the template. */
  readonly open: number;
  /** Offset of the expression source (just after `{{`). */
  readonly start: number;
  /** The placeholder is the whole template. */
  readonly whole: boolean;
}

type Part = string | Placeholder;

function parseTemplate(template: string): Part[] {
  if (typeof template !== 'string') {
    throw new ExpressionError('invalid_expression', `A template must be a string, got ${typeof template}`, 0, 'Pass the template text.', 'template');
  }
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const next = template.indexOf('{{', i);
    if (next < 0) {
      text += template.slice(i);
      break;
    }
    if (next > 0 && template[next - 1] === '\\') {
      text += template.slice(i, next - 1) + '{{';
      i = next + 2;
      continue;
    }
    text += template.slice(i, next);
    const start = next + 2;
    const close = findClose(template, start);
    if (close < 0) {
      throw new ExpressionError('invalid_expression', 'Unterminated "{{"', next, 'Close the placeholder with "}}", or write \\{{ for a literal "{{".', 'template');
    }
    if (text !== '') parts.push(text);
    text = '';
    const source = template.slice(start, close);
    if (source.trim() === '') {
      throw new ExpressionError('invalid_expression', 'Empty placeholder "{{ }}"', next, 'Put an expression inside, e.g. {{ inputs.name }}.', 'template');
    }
    parts.push({ expr: relocating(start, () => parseExpression(source)), open: next, start, whole: next === 0 && close + 2 === template.length });
    i = close + 2;
  }
  if (text !== '') parts.push(text);
  return parts;
}

/** Offset of the `}}` closing a placeholder whose source starts at `from`, skipping quoted strings. */
function findClose(template: string, from: number): number {
  let quote: string | undefined;
  for (let i = from; i < template.length; i++) {
    const ch = template[i];
    if (quote !== undefined) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === '}' && template[i + 1] === '}') {
      return i;
    }
  }
  return -1;
}

function run(part: Placeholder, scope: Record<string, unknown>, options: EvaluateOptions | undefined): unknown {
  return relocating(part.start, () => evaluate(part.expr, scope, options));
}

/** Writing a value into text has no step limit; its failures (cycles, size) point at the `{{`. */
function textBudget(open: number): Budget {
  return {
    charge: () => undefined,
    fail: (problem, fix) => {
      throw new ExpressionError('evaluation_error', problem, open, fix, 'template');
    },
  };
}

function relocating<T>(offset: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ExpressionError) throw err.relocate(offset, 'template');
    throw err;
  }
}

function renderAt(value: unknown, scope: Record<string, unknown>, options: EvaluateOptions | undefined, depth: number): unknown {
  if (typeof value === 'string') return renderTemplate(value, scope, options);
  if (!Array.isArray(value) && !isPlainObject(value)) return value;
  if (depth >= LIMITS.maxDataDepth) {
    throw new ExpressionError('evaluation_error', `The value is nested deeper than ${LIMITS.maxDataDepth} levels`, 0, 'Flatten the structure (or check it for cycles).', 'template');
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(renderAt(readOwn(value, String(i)), scope, options, depth + 1));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key === '__proto__') continue;
    out[key] = renderAt(readOwn(value, key), scope, options, depth + 1);
  }
  return out;
}

const IDENT = /^[\p{ID_Start}$_][\p{ID_Continue}$_\u200c\u200d]*$/u;

function collect(node: Expr, found: Set<string>): void {
  switch (node.type) {
    case 'literal':
      return;
    case 'identifier':
    case 'member': {
      const chain: Expr[] = [];
      let root: Expr = node;
      while (root.type === 'member') {
        chain.unshift(root.property);
        root = root.object;
      }
      if (root.type !== 'identifier') {
        collect(root, found);
        for (const key of chain) collect(key, found);
        return;
      }
      let path = root.name;
      let i = 0;
      for (; i < chain.length; i++) {
        const key = chain[i] as Expr;
        if (key.type !== 'literal' || (typeof key.value !== 'string' && typeof key.value !== 'number')) break;
        path += segment(key.value);
      }
      found.add(path);
      for (; i < chain.length; i++) collect(chain[i] as Expr, found);
      return;
    }
    case 'array':
      for (const e of node.elements) collect(e, found);
      return;
    case 'object':
      for (const e of node.entries) collect(e.value, found);
      return;
    case 'unary':
      collect(node.argument, found);
      return;
    case 'binary':
    case 'logical':
      collect(node.left, found);
      collect(node.right, found);
      return;
    case 'conditional':
      collect(node.test, found);
      collect(node.consequent, found);
      collect(node.alternate, found);
      return;
    case 'call':
      for (const a of node.args) collect(a, found);
      return;
  }
}

function segment(key: string | number): string {
  if (typeof key === 'number') return Number.isInteger(key) && key >= 0 ? `[${key}]` : `[${JSON.stringify(String(key))}]`;
  if (/^(?:0|[1-9]\d*)$/.test(key)) return `[${key}]`;
  return IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * The interpreter: `Expr` + scope → value. Pure: no clock, no randomness, no writes.
 *
 * Invariants:
 * 1. Names resolve only among the scope's OWN data properties; members only among own data
 *    properties of plain objects and arrays (plus `length`/index of strings). The prototype chain
 *    is never consulted, getters never run, and functions read as `undefined` (values.ts).
 * 2. A missing name or member is `undefined`; a member of `undefined`/`null` is `undefined`
 *    (optional-chaining semantics), so `steps.x.output.y ?? 'default'` works.
 * 3. Member keys `__proto__`, `prototype`, `constructor` throw `evaluation_error`, whether
 *    written in the source or computed at run time (checked even when the object is missing).
 * 4. No implicit coercion: `+` adds numbers or concatenates when a string is involved (the other
 *    side a string, number or boolean); `- * / %` and unary `- +` take numbers; `< <= > >=`
 *    compare two numbers or two strings; `==`/`!=` are `===`/`!==`. Anything else throws.
 * 5. `&&`, `||`, `??` and `? :` short-circuit and return operand values as in JavaScript.
 * 6. Every node visit costs one step (functions also pay per element they walk); past `maxSteps`
 *    (default 10,000) evaluation stops with `evaluation_error`. Recursion is bounded by the tree
 *    depth, itself bounded at parse time (and re-checked here for hand-built trees).
 * 7. Only `ExpressionError` is thrown on purpose.
 */
import { LIMITS, type Expr } from './ast.ts';
import { failed } from './errors.ts';
import { FUNCTIONS, signature, type CallContext } from './functions.ts';
import { dataOnly, isForbiddenKey, readMember, readOwn, typeName } from './values.ts';

export interface EvaluateOptions {
  /**
   * Step budget: one step per node visit plus one per element a function walks.
   * @default 10000
   */
  readonly maxSteps?: number;
}

/**
 * Evaluate `expr` against `scope`. Returns the value (possibly `undefined`); throws
 * `ExpressionError('evaluation_error')` naming the position and the fix. Never mutates `scope`.
 */
export function evaluate(expr: Expr, scope: Record<string, unknown>, options: EvaluateOptions = {}): unknown {
  const maxSteps = options.maxSteps ?? LIMITS.defaultMaxSteps;
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw failed(`maxSteps must be a positive integer, got ${String(maxSteps)}`, 0, 'Pass e.g. { maxSteps: 10000 } or omit it.');
  }
  if (typeof scope !== 'object' || scope === null) {
    throw failed(`The scope must be an object, got ${typeName(scope)}`, 0, 'Pass an object such as { inputs, steps, env }.');
  }
  return new Interpreter(scope, maxSteps).run(expr, 1);
}

/** JavaScript truthiness: false for false, 0, -0, NaN, '', null and undefined; true otherwise. */
export function isTruthy(value: unknown): boolean {
  return Boolean(value);
}

// ---------------------------------------------------------------------------------------------

class Interpreter {
  private steps = 0;

  constructor(
    private readonly scope: object,
    private readonly maxSteps: number,
  ) {}

  run(node: Expr, depth: number): unknown {
    if (typeof node !== 'object' || node === null) throw failed('Not an expression node', 0, 'Pass the result of parseExpression().');
    const pos = typeof node.pos === 'number' ? node.pos : 0;
    this.charge(1, pos);
    if (depth > LIMITS.maxDepth) {
      throw failed(`The expression is nested more than ${LIMITS.maxDepth} levels deep`, pos, 'Build it with parseExpression(), which enforces the limit.');
    }
    switch (node.type) {
      case 'literal':
        return node.value;
      case 'identifier':
        if (isForbiddenKey(node.name)) throw failed(`The name "${node.name}" is not allowed`, pos, 'Read plain data from the scope.');
        return Object.hasOwn(this.scope, node.name) ? readOwn(this.scope, node.name) : undefined;
      case 'member':
        return this.member(node, depth);
      case 'array':
        return node.elements.map((e) => this.run(e, depth + 1));
      case 'object': {
        const out: Record<string, unknown> = {};
        for (const { key, value } of node.entries) {
          if (isForbiddenKey(key)) throw failed(`The key "${key}" is not allowed`, pos, 'Use another key.');
          Object.defineProperty(out, key, { value: this.run(value, depth + 1), enumerable: true, writable: true, configurable: true });
        }
        return out;
      }
      case 'unary': {
        const v = this.run(node.argument, depth + 1);
        if (node.operator === '!') return !isTruthy(v);
        if (typeof v !== 'number') {
          throw failed(`Unary "${node.operator}" needs a number, got ${typeName(v)}`, pos, 'Convert text with toNumber(x); there is no implicit coercion.');
        }
        return node.operator === '-' ? -v : v;
      }
      case 'binary':
        return this.binary(node, this.run(node.left, depth + 1), this.run(node.right, depth + 1));
      case 'logical': {
        const left = this.run(node.left, depth + 1);
        if (node.operator === '&&') return isTruthy(left) ? this.run(node.right, depth + 1) : left;
        if (node.operator === '||') return isTruthy(left) ? left : this.run(node.right, depth + 1);
        return left === null || left === undefined ? this.run(node.right, depth + 1) : left;
      }
      case 'conditional':
        return isTruthy(this.run(node.test, depth + 1)) ? this.run(node.consequent, depth + 1) : this.run(node.alternate, depth + 1);
      case 'call':
        return this.call(node, depth);
      default:
        throw failed(`Unknown expression node type "${String((node as { type?: unknown }).type)}"`, pos, 'Pass the result of parseExpression().');
    }
  }

  private member(node: Extract<Expr, { type: 'member' }>, depth: number): unknown {
    const target = this.run(node.object, depth + 1);
    const key = this.run(node.property, depth + 1);
    if (key === null || key === undefined) return undefined;
    if (typeof key !== 'string' && typeof key !== 'number') {
      throw failed(`A member key must be a string or a number, got ${typeName(key)}`, node.pos, 'Index with a string (x["name"]) or a number (x[0]).');
    }
    const name = String(key);
    if (isForbiddenKey(name)) {
      throw failed(`The member key "${name}" is not allowed`, node.pos, 'Keys that reach prototypes (__proto__, prototype, constructor) are refused.');
    }
    return dataOnly(readMember(target, name));
  }

  private binary(node: Extract<Expr, { type: 'binary' }>, a: unknown, b: unknown): unknown {
    switch (node.operator) {
      case '===':
      case '==':
        return a === b;
      case '!==':
      case '!=':
        return a !== b;
      case '+':
        if (typeof a === 'number' && typeof b === 'number') return a + b;
        if ((typeof a === 'string' && isTextable(b)) || (typeof b === 'string' && isTextable(a))) {
          const text = String(a) + String(b);
          if (text.length > LIMITS.maxStringLength) {
            throw failed(`The string would be longer than ${LIMITS.maxStringLength} characters`, node.pos, 'Build a shorter string.');
          }
          return text;
        }
        throw failed(
          `"+" needs two numbers, or a string and a string/number/boolean; got ${typeName(a)} and ${typeName(b)}`,
          node.pos,
          'Use toString(x) or json(x) to turn a value into text, or ?? to replace a missing value.',
        );
      case '-':
      case '*':
      case '/':
      case '%': {
        if (typeof a !== 'number' || typeof b !== 'number') {
          throw failed(`"${node.operator}" needs two numbers, got ${typeName(a)} and ${typeName(b)}`, node.pos, 'Convert text with toNumber(x); there is no implicit coercion.');
        }
        return node.operator === '-' ? a - b : node.operator === '*' ? a * b : node.operator === '/' ? a / b : a % b;
      }
      case '<':
      case '<=':
      case '>':
      case '>=': {
        if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
          throw failed(`"${node.operator}" compares two numbers or two strings, got ${typeName(a)} and ${typeName(b)}`, node.pos, 'Convert one side with toNumber(x) or toString(x).');
        }
        const x = a as number | string;
        const y = b as number | string;
        return node.operator === '<' ? x < y : node.operator === '<=' ? x <= y : node.operator === '>' ? x > y : x >= y;
      }
      default:
        throw failed(`Unknown operator "${String(node.operator)}"`, node.pos, 'Pass the result of parseExpression().');
    }
  }

  private call(node: Extract<Expr, { type: 'call' }>, depth: number): unknown {
    const spec = Object.hasOwn(FUNCTIONS, node.name) ? FUNCTIONS[node.name] : undefined;
    if (spec === undefined) throw failed(`"${node.name}" is not a function that expressions may call`, node.pos, 'Use a function from docs/expressions.md.');
    if (node.args.length < spec.min || node.args.length > spec.max) {
      throw failed(`${node.name} got ${node.args.length} arguments`, node.pos, `Call it as ${signature(node.name)}.`);
    }
    const args = node.args.map((a) => this.run(a, depth + 1));
    const pos = node.pos;
    const ctx: CallContext = {
      charge: (n) => this.charge(n, pos),
      fail: (problem, fix) => {
        throw failed(problem, pos, fix);
      },
      argError: (index, expected, got) => {
        const param = spec.params[Math.min(index, spec.params.length - 1)]?.replace('...', '') ?? 'x';
        throw failed(`${node.name}: argument ${index + 1} (${param}) must be ${expected}, got ${typeName(got)}`, pos, `Call it as ${signature(node.name)}.`);
      },
    };
    return dataOnly(spec.call(args, ctx));
  }

  private charge(n: number, pos: number): void {
    this.steps += n;
    if (this.steps > this.maxSteps) {
      throw failed(`The expression ran out of its step budget (${this.maxSteps} steps)`, pos, 'Simplify the expression or work on less data.');
    }
  }
}

function isTextable(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * `parseExpression`: source → validated, frozen `Expr` (the checks that need the whole tree).
 *
 * Invariants:
 * 1. Source longer than `LIMITS.maxSourceLength`, or a tree deeper than `LIMITS.maxDepth`
 *    (measured iteratively, so a long `a+a+…` chain cannot overflow the stack either), is refused.
 * 2. Names and static member keys `__proto__`, `prototype`, `constructor` are refused here;
 *    computed keys are checked again at run time (evaluate.ts).
 * 3. Calls are only to whitelisted functions by bare name, with the right number of arguments;
 *    method calls (`x.f()`), calls of call results and calls of non-whitelisted names are refused.
 * 4. The result contains only the node types of `Expr`, each frozen, each with its `pos`.
 */
import { LIMITS, type BinaryOperator, type Expr, type LogicalOperator, type UnaryOperator } from './ast.ts';
import { invalid } from './errors.ts';
import { FUNCTIONS, isFunctionName, signature } from './functions.ts';
import { parseRaw, type RawNode } from './parse.ts';
import { isForbiddenKey } from './values.ts';

/**
 * Parse `source` into an `Expr`. Pure; throws `ExpressionError('invalid_expression')` with the
 * 0-based position and a fix for anything outside the grammar in docs/expressions.md.
 */
export function parseExpression(source: string): Expr {
  if (typeof source !== 'string') {
    throw invalid(`The expression must be a string, got ${source === null ? 'null' : typeof source}`, 0, 'Pass the expression text.');
  }
  if (source.length > LIMITS.maxSourceLength) {
    throw invalid(
      `The expression is ${source.length} characters long, over the limit of ${LIMITS.maxSourceLength}`,
      LIMITS.maxSourceLength,
      'Shorten it, or compute the value in a step and read it from steps.<id>.output.',
    );
  }
  const { root, positions } = parseRaw(source);
  // Member and call nodes come from jsep's own chain parser, unpositioned: they take the
  // position of their key / callee.
  const pos = (node: RawNode): number => {
    for (let n = node; ; n = n.type === 'CallExpression' ? n.callee : (n as { property: RawNode }).property) {
      const p = positions.get(n);
      if (p !== undefined) return p;
      if (n.type !== 'CallExpression' && n.type !== 'MemberExpression') return 0;
    }
  };
  checkDepth(root, pos);
  return lower(root, pos);
}

// ---------------------------------------------------------------------------------------------

const FORBIDDEN_FIX = 'Names that reach prototypes (__proto__, prototype, constructor) are refused; read plain data instead.';
const LOGICAL: ReadonlySet<string> = new Set<LogicalOperator>(['&&', '||', '??']);

function lower(node: RawNode, pos: (n: RawNode) => number): Expr {
  const at = pos(node);
  switch (node.type) {
    case 'Literal': {
      const v = node.value;
      if (v !== null && v !== undefined && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw invalid('Unsupported literal', at, 'Use numbers, strings, true, false, null or arrays.');
      }
      return freeze({ type: 'literal', value: v, pos: at });
    }
    case 'Identifier':
      if (isForbiddenKey(node.name)) throw invalid(`The name "${node.name}" is not allowed`, at, FORBIDDEN_FIX);
      return freeze({ type: 'identifier', name: node.name, pos: at });
    case 'MemberExpression':
      return lowerMember(node, pos);
    case 'CallExpression':
      return lowerCall(node, pos);
    case 'UnaryExpression':
      return freeze({ type: 'unary', operator: node.operator as UnaryOperator, argument: lower(node.argument, pos), pos: at });
    case 'BinaryExpression': {
      const left = lower(node.left, pos);
      const right = lower(node.right, pos);
      return LOGICAL.has(node.operator)
        ? freeze({ type: 'logical', operator: node.operator as LogicalOperator, left, right, pos: at })
        : freeze({ type: 'binary', operator: node.operator as BinaryOperator, left, right, pos: at });
    }
    case 'ConditionalExpression':
      return freeze({
        type: 'conditional', test: lower(node.test, pos), consequent: lower(node.consequent, pos), alternate: lower(node.alternate, pos), pos: at,
      });
    case 'ArrayExpression':
      return freeze({ type: 'array', elements: Object.freeze(node.elements.map((e) => lower(e, pos))), pos: at });
    case 'ObjectExpression':
      return freeze({
        type: 'object',
        entries: Object.freeze(node.properties.map((p) => {
          if (isForbiddenKey(p.key)) throw invalid(`The key "${p.key}" is not allowed`, p.keyPos, FORBIDDEN_FIX);
          return Object.freeze({ key: p.key, value: lower(p.value, pos) });
        })),
        pos: at,
      });
    default:
      throw invalid(`Unsupported syntax (${(node as { type: string }).type})`, at, 'See docs/expressions.md for the grammar.');
  }
}

function lowerMember(node: Extract<RawNode, { type: 'MemberExpression' }>, pos: (n: RawNode) => number): Expr {
  // A member is reported at its key: the name after ".", or where the bracketed key starts.
  const at = node.computed ? startOf(node.property, pos) : pos(node.property);
  const object = lower(node.object, pos);
  let property: Expr;
  if (node.computed) {
    property = lower(node.property, pos);
  } else if (node.property.type === 'Identifier') {
    property = freeze({ type: 'literal', value: node.property.name, pos: at });
  } else {
    throw invalid('Expected a property name', at, 'Write x.name or x["key"].');
  }
  if (property.type === 'literal' && typeof property.value === 'string' && isForbiddenKey(property.value)) {
    throw invalid(`The member key "${property.value}" is not allowed`, at, FORBIDDEN_FIX);
  }
  return freeze({ type: 'member', object, property, pos: at });
}

function lowerCall(node: Extract<RawNode, { type: 'CallExpression' }>, pos: (n: RawNode) => number): Expr {
  const callee = node.callee;
  if (callee.type === 'MemberExpression') {
    const name = callee.property.type === 'Identifier' && !callee.computed ? callee.property.name : undefined;
    const hint = name !== undefined && isFunctionName(name) ? `e.g. ${name}(x) rather than x.${name}()` : 'e.g. toString(x) rather than x.toString()';
    throw invalid('Method calls are not allowed', pos(callee.property), `Call a whitelisted function with the value as an argument, ${hint}.`);
  }
  if (callee.type !== 'Identifier') {
    throw invalid('Only whitelisted functions can be called, by bare name', pos(callee), 'Call one of the functions in docs/expressions.md, e.g. len(x).');
  }
  const at = pos(callee);
  if (!isFunctionName(callee.name)) {
    throw invalid(`"${callee.name}" is not a function that expressions may call`, at, `Use one of: ${Object.keys(FUNCTIONS).join(', ')}.`);
  }
  const spec = FUNCTIONS[callee.name];
  const n = node.arguments.length;
  if (spec !== undefined && (n < spec.min || n > spec.max)) {
    const expected = spec.min === spec.max ? `${spec.min}` : spec.max === Infinity ? `at least ${spec.min}` : `${spec.min} to ${spec.max}`;
    throw invalid(`${callee.name} takes ${expected} argument${expected === '1' ? '' : 's'} but got ${n}`, at, `Call it as ${signature(callee.name)}.`);
  }
  return freeze({ type: 'call', name: callee.name, args: Object.freeze(node.arguments.map((a) => lower(a, pos))), pos: at });
}

/** Tree depth ≤ LIMITS.maxDepth, walked with an explicit stack (no recursion). */
function checkDepth(root: RawNode, pos: (n: RawNode) => number): void {
  const stack: Array<[RawNode, number]> = [[root, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [node, depth] = item;
    if (depth > LIMITS.maxDepth) {
      throw invalid(`The expression is nested more than ${LIMITS.maxDepth} levels deep`, pos(node), 'Split it into smaller expressions (e.g. compute parts in earlier steps).');
    }
    for (const child of children(node)) stack.push([child, depth + 1]);
  }
}

/** Leftmost offset in a subtree (binary nodes are positioned at their operator). */
function startOf(root: RawNode, pos: (n: RawNode) => number): number {
  let min = pos(root);
  const stack = [root];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    min = Math.min(min, pos(node));
    stack.push(...children(node));
  }
  return min;
}

function children(node: RawNode): RawNode[] {
  switch (node.type) {
    case 'MemberExpression':
      return [node.object, node.property];
    case 'CallExpression':
      return [node.callee, ...node.arguments];
    case 'UnaryExpression':
      return [node.argument];
    case 'BinaryExpression':
      return [node.left, node.right];
    case 'ConditionalExpression':
      return [node.test, node.consequent, node.alternate];
    case 'ArrayExpression':
      return node.elements;
    case 'ObjectExpression':
      return node.properties.map((p) => p.value);
    default:
      return [];
  }
}

function freeze<T extends Expr>(node: T): T {
  return Object.freeze(node);
}

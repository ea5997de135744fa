/**
 * The tokenizer/parser: expression source → raw jsep-shaped nodes with source positions.
 *
 * Invariants:
 * 1. jsep is used through a PRIVATE SUBCLASS of its `Jsep` class. Every method that reads jsep's
 *    global configuration (operator tables, literals, identifier characters) or runs its global
 *    hooks/plugins is overridden here, so this module never mutates global jsep state and nothing
 *    another module registers globally changes this grammar. jsep's own member/call chain parser
 *    (`gobbleTokenProperty`) is reused; it calls back into these overrides.
 * 2. Only the documented grammar parses; everything else throws `invalid_expression` with the
 *    0-based offset of the offending character and a fix.
 * 3. Nesting (operands, parentheses, brackets, arguments, ternary branches) is counted while
 *    parsing and refused past `LIMITS.maxDepth`, before the recursion can grow: `((((…))))`
 *    cannot overflow the stack.
 * 4. Every node this parser creates has its start offset recorded in `positions`.
 */
import jsep from 'jsep';
import { LIMITS } from './ast.ts';
import { invalid, type ExpressionError } from './errors.ts';
import { BITWISE_FIX, ESCAPES, FORBIDDEN_OPERATORS, KEYWORDS, LITERALS, PRECEDENCE } from './grammar.ts';

/** The node shapes jsep (and these overrides) produce. */
export type RawNode =
  | { type: 'Literal'; value: string | number | boolean | null | undefined }
  | { type: 'Identifier'; name: string }
  | { type: 'MemberExpression'; object: RawNode; property: RawNode; computed: boolean; optional?: boolean }
  | { type: 'CallExpression'; callee: RawNode; arguments: RawNode[]; optional?: boolean }
  | { type: 'UnaryExpression'; operator: string; argument: RawNode; prefix: true }
  | { type: 'BinaryExpression'; operator: string; left: RawNode; right: RawNode }
  | { type: 'ConditionalExpression'; test: RawNode; consequent: RawNode; alternate: RawNode }
  | { type: 'ArrayExpression'; elements: RawNode[] }
  | { type: 'ObjectExpression'; properties: { key: string; keyPos: number; value: RawNode }[] };

export interface RawParse {
  readonly root: RawNode;
  readonly positions: WeakMap<RawNode, number>;
}

/** Parse `source` (already length-checked) into raw nodes; throws `invalid_expression`. */
export function parseRaw(source: string): RawParse {
  const parser = new Parser(source);
  return { root: parser.parseSource(), positions: parser.positions };
}

// ---------------------------------------------------------------------------------------------

/** The part of jsep's (untyped) instance API this subclass relies on. */
interface JsepInstance {
  expr: string;
  index: number;
  readonly code: number;
  readonly char: string;
  gobbleTokenProperty(node: RawNode): RawNode;
}
const JsepBase = (jsep as unknown as { Jsep: new (expr: string) => JsepInstance }).Jsep;

const ID_START = /[\p{ID_Start}$_]/u;
const ID_PART = /[\p{ID_Continue}$_\u200c\u200d]/u;
const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const WORD = /[A-Za-z]+/y;

const C = {
  TAB: 9, LF: 10, CR: 13, SPACE: 32, BANG: 33, DQUOTE: 34, SQUOTE: 39, OPAREN: 40, CPAREN: 41, PLUS: 43,
  COMMA: 44, MINUS: 45, PERIOD: 46, SLASH: 47, COLON: 58, SEMI: 59, QUESTION: 63, OBRACK: 91, CBRACK: 93,
  BACKTICK: 96, OBRACE: 123, CBRACE: 125, TILDE: 126,
} as const;

const PARSE_FIX = 'Check the syntax near this position; see docs/expressions.md.';

interface Op {
  readonly value: string;
  readonly prec: number;
  readonly pos: number;
}

class Parser extends JsepBase {
  readonly positions = new WeakMap<RawNode, number>();
  private nesting = 0;

  parseSource(): RawNode {
    this.gobbleSpaces();
    if (this.index >= this.expr.length) throw invalid('The expression is empty', 0, 'Write an expression such as inputs.name.');
    const node = this.gobbleExpression();
    if (!node) throw this.unexpected();
    this.gobbleSpaces();
    if (this.index < this.expr.length) {
      const ch = this.char;
      if (ch === ',' || ch === ';') {
        throw invalid(`Several expressions separated by "${ch}" are not allowed`, this.index, 'Write one expression; combine conditions with && or ||.');
      }
      if (ch === ')' || ch === ']') throw invalid(`Unmatched "${ch}"`, this.index, `Remove it or add the opening ${ch === ')' ? '"("' : '"["'}.`);
      if (this.isIdStart(this.index)) {
        throw invalid('Two expressions follow each other without an operator', this.index, 'Join them with an operator such as +, && or ==.');
      }
      throw this.unexpected();
    }
    return node;
  }

  // --- overrides of jsep's instance methods ------------------------------------------------

  /** Like jsep's, without the global `gobble-spaces` hook. */
  gobbleSpaces(): void {
    let ch = this.code;
    while (ch === C.SPACE || ch === C.TAB || ch === C.LF || ch === C.CR) ch = this.expr.charCodeAt(++this.index);
  }

  /** A binary expression, then an optional `? :` (our own ternary; global hooks never run). */
  gobbleExpression(): RawNode | false {
    const test = this.gobbleBinaryExpression();
    this.gobbleSpaces();
    if (!test || this.code !== C.QUESTION) return test;
    const at = this.index++;
    this.enter(at);
    const fix = 'Write a conditional as test ? whenTrue : whenFalse.';
    const consequent = this.gobbleExpression();
    if (!consequent) throw invalid('Expected an expression after "?"', this.index, fix);
    this.gobbleSpaces();
    if ((this.code as number) !== C.COLON) throw invalid('Expected ":" in the conditional', this.index, fix);
    this.index++;
    const alternate = this.gobbleExpression();
    if (!alternate) throw invalid('Expected an expression after ":"', this.index, fix);
    this.nesting--;
    return this.at({ type: 'ConditionalExpression', test, consequent, alternate }, at);
  }

  /** The longest operator at the cursor from OUR table; known-but-refused operators throw. */
  gobbleBinaryOp(): Op | false {
    this.gobbleSpaces();
    const at = this.index;
    WORD.lastIndex = at;
    const word = WORD.exec(this.expr)?.[0];
    if ((word === 'in' || word === 'instanceof') && !this.isIdPart(at + word.length)) {
      throw invalid(`The operator "${word}" is not supported`, at, 'Use contains(haystack, needle) or keys(obj).');
    }
    for (let n = 4; n > 0; n--) {
      const candidate = this.expr.slice(at, at + n);
      if (candidate.length !== n) continue;
      const prec = PRECEDENCE[candidate];
      if (prec !== undefined) {
        this.index += n;
        return { value: candidate, prec, pos: at };
      }
      const refused = FORBIDDEN_OPERATORS.get(candidate);
      if (refused) throw invalid(refused[0], at, refused[1]);
    }
    return false;
  }

  /** Operator-precedence parse of `token (op token)*`, left-associative, iterative. */
  gobbleBinaryExpression(): RawNode | false {
    const first = this.gobbleToken();
    if (!first) return first;
    const operands: RawNode[] = [first];
    const ops: Op[] = [];
    let op: Op | false;
    while ((op = this.gobbleBinaryOp())) {
      while (ops.length > 0 && op.prec <= (ops[ops.length - 1] as Op).prec) this.reduce(operands, ops);
      const right = this.gobbleToken();
      if (!right) throw invalid(`Expected an expression after "${op.value}"`, this.index, 'Complete the expression or remove the operator.');
      ops.push(op);
      operands.push(right);
    }
    while (ops.length > 0) this.reduce(operands, ops);
    return operands[0] as RawNode;
  }

  /** One operand with its `.x`, `[k]` and `(args)` suffixes; counts nesting. */
  gobbleToken(): RawNode | false {
    this.gobbleSpaces();
    const start = this.index;
    if (start >= this.expr.length) return false;
    this.enter(start);
    try {
      const node = this.gobbleOperand(start);
      if (!node) return false;
      if (!this.positions.has(node)) this.positions.set(node, start);
      return node.type === 'UnaryExpression' ? node : this.gobbleTokenProperty(node);
    } finally {
      this.nesting--;
    }
  }

  /** A name made of ID_Start/ID_Continue characters (not jsep's global identifier table). */
  gobbleIdentifier(): RawNode {
    const start = this.index;
    if (!this.isIdStart(start)) {
      const found = start >= this.expr.length ? 'the end of the expression' : `"${this.char}"`;
      throw invalid(`Expected a name but found ${found}`, start, 'After "." write a name; use x["key"] or x[0] for other keys.');
    }
    let i = start;
    while (i < this.expr.length && this.isIdPart(i)) i += (this.expr.codePointAt(i) as number) > 0xffff ? 2 : 1;
    this.index = i;
    return this.at({ type: 'Identifier', name: this.expr.slice(start, i) }, start);
  }

  /** Comma-separated expressions up to `close`; no holes, no space-separated items (jsep allows both). */
  gobbleArguments(close: number): RawNode[] {
    const open = this.index - 1;
    const closeChar = String.fromCharCode(close);
    const args: RawNode[] = [];
    for (;;) {
      this.gobbleSpaces();
      if (this.index >= this.expr.length) throw invalid(`Unclosed "${this.expr[open] ?? '('}"`, open, `Add the missing "${closeChar}".`);
      if (this.code === close) {
        this.index++;
        return args;
      }
      if (this.code === C.COMMA) throw invalid('Unexpected ","', this.index, 'Remove the extra comma; empty elements are not allowed.');
      const node = this.gobbleExpression();
      if (!node) throw this.unexpected();
      args.push(node);
      this.gobbleSpaces();
      if (this.code === C.COMMA) this.index++;
      else if (this.code !== close && this.index < this.expr.length) {
        throw invalid(`Expected "," or "${closeChar}" but found "${this.char}"`, this.index, 'Separate items with commas.');
      }
    }
  }

  /** jsep's errors (from gobbleTokenProperty) become typed errors at the cursor. */
  throwError(message: string): never {
    throw invalid(message, this.index, PARSE_FIX);
  }

  // --- helpers ---------------------------------------------------------------------------

  private gobbleOperand(start: number): RawNode | false {
    const ch = this.code;
    const next = this.expr.charCodeAt(start + 1);
    if (isDigit(ch) || (ch === C.PERIOD && isDigit(next))) return this.gobbleNumber(start);
    if (ch === C.SQUOTE || ch === C.DQUOTE) return this.gobbleString(start);
    if (ch === C.OBRACK) {
      this.index++;
      return { type: 'ArrayExpression', elements: this.gobbleArguments(C.CBRACK) };
    }
    if (ch === C.OPAREN) return this.gobbleGroup(start);
    if ((ch === C.PLUS || ch === C.MINUS) && next === ch) {
      const refused = FORBIDDEN_OPERATORS.get(this.expr.slice(start, start + 2)) as readonly [string, string];
      throw invalid(refused[0], start, refused[1]);
    }
    if (ch === C.BANG || ch === C.MINUS || ch === C.PLUS) {
      const operator = this.char;
      this.index++;
      const argument = this.gobbleToken();
      if (!argument) throw invalid(`Expected an expression after unary "${operator}"`, this.index, 'Complete the expression.');
      return { type: 'UnaryExpression', operator, argument, prefix: true };
    }
    if (this.isIdStart(start)) return this.gobbleName(start);
    if (ch === C.TILDE) throw invalid('The bitwise operator "~" is not supported', start, BITWISE_FIX);
    if (ch === C.BACKTICK) throw invalid('Template literals are not allowed', start, 'Concatenate with + instead, or use a {{ }} placeholder in a template.');
    if (ch === C.SLASH) throw invalid('Regular expressions are not allowed', start, 'Use matches(s, "glob*") for pattern matching.');
    if (ch === C.OBRACE) return this.gobbleObject(start);
    return false;
  }

  /** `{ name: expr, "any key": expr, }`: keys are names or quoted strings, each at most once. */
  private gobbleObject(open: number): RawNode {
    this.index++;
    const properties: { key: string; keyPos: number; value: RawNode }[] = [];
    const seen = new Set<string>();
    for (;;) {
      this.gobbleSpaces();
      if (this.index >= this.expr.length) throw invalid('Unclosed "{"', open, 'Add the missing "}".');
      if (this.code === C.CBRACE) {
        this.index++;
        return { type: 'ObjectExpression', properties };
      }
      const keyPos = this.index;
      let key: string;
      if (this.code === C.SQUOTE || this.code === C.DQUOTE) key = String((this.gobbleString(keyPos) as { value: unknown }).value);
      else if (this.isIdStart(keyPos)) key = (this.gobbleIdentifier() as { name: string }).name;
      else throw invalid(`Expected a key (a name or a quoted string) but found "${this.char}"`, keyPos, 'Write { name: value, "other key": value }.');
      if (seen.has(key)) throw invalid(`The key "${key}" is written twice`, keyPos, 'Keep one of them.');
      seen.add(key);
      this.gobbleSpaces();
      if (this.code !== C.COLON) throw invalid(`Expected ":" after the key "${key}"`, this.index, 'Write key: value (shorthand { key } is not supported).');
      this.index++;
      const value = this.gobbleExpression();
      if (!value) throw this.unexpected();
      properties.push({ key, keyPos, value });
      this.gobbleSpaces();
      const after = this.code as number;
      if (after === C.COMMA) this.index++;
      else if (after !== C.CBRACE && this.index < this.expr.length) {
        throw invalid(`Expected "," or "}" but found "${this.char}"`, this.index, 'Separate entries with commas.');
      }
    }
  }

  private gobbleName(start: number): RawNode {
    const node = this.gobbleIdentifier() as { type: 'Identifier'; name: string };
    const keywordFix = KEYWORDS.get(node.name);
    if (keywordFix !== undefined) throw invalid(`"${node.name}" is not allowed`, start, keywordFix);
    if (LITERALS.has(node.name)) return this.at({ type: 'Literal', value: LITERALS.get(node.name) }, start);
    return node;
  }

  private gobbleNumber(start: number): RawNode {
    NUMBER.lastIndex = start;
    const text = (NUMBER.exec(this.expr) as RegExpExecArray)[0];
    this.index = start + text.length;
    if (this.index < this.expr.length && (this.isIdPart(this.index) || this.code === C.PERIOD)) {
      throw invalid(`Invalid number "${text}${this.char}"`, start, 'Numbers are decimal (42, 3.14, 1e3) and names cannot start with a digit.');
    }
    return { type: 'Literal', value: Number(text) };
  }

  /** Quoted string with \n \r \t \b \f \v \0 \xHH \uHHHH \u{H…} escapes (jsep's drops \u). */
  private gobbleString(start: number): RawNode {
    const quote = this.expr[start];
    let out = '';
    let i = start + 1;
    while (i < this.expr.length) {
      const ch = this.expr[i] as string;
      if (ch === quote) {
        this.index = i + 1;
        return { type: 'Literal', value: out };
      }
      if (ch !== '\\') {
        out += ch;
        i++;
        continue;
      }
      const esc = this.expr[i + 1];
      if (esc === undefined) break;
      const simple = ESCAPES[esc];
      if (simple !== undefined) {
        out += simple;
        i += 2;
      } else if (esc === 'x' || esc === 'u') {
        const braced = esc === 'u' && this.expr[i + 2] === '{';
        const end = braced ? this.expr.indexOf('}', i + 3) : i + 2 + (esc === 'x' ? 2 : 4);
        const hex = braced ? this.expr.slice(i + 3, end) : this.expr.slice(i + 2, end);
        const cp = /^[0-9a-fA-F]{1,6}$/.test(hex) && (braced || hex.length === end - i - 2) ? parseInt(hex, 16) : NaN;
        if (end < 0 || !(cp <= 0x10ffff)) throw invalid('Invalid escape sequence', i, 'Write \\xHH, \\uHHHH or \\u{H…} with hex digits.');
        out += String.fromCodePoint(cp);
        i = braced ? end + 1 : end;
      } else {
        out += esc;
        i += 2;
      }
    }
    throw invalid('Unclosed string', start, `Add the closing ${quote}.`);
  }

  private gobbleGroup(open: number): RawNode {
    this.index++;
    this.gobbleSpaces();
    if (this.code === C.CPAREN) throw invalid('Empty parentheses "()"', open, 'Put an expression inside the parentheses.');
    const node = this.gobbleExpression();
    if (!node) throw this.unexpected();
    this.gobbleSpaces();
    if (this.code === C.CPAREN) {
      this.index++;
      return node;
    }
    if (this.code === C.COMMA || this.code === C.SEMI) {
      throw invalid(`Sequence expressions ("${this.char}" inside parentheses) are not allowed`, this.index, 'Write one expression per parenthesis.');
    }
    if (this.index >= this.expr.length) throw invalid('Unclosed "("', open, 'Add the missing ")".');
    throw invalid(`Expected ")" but found "${this.char}"`, this.index, PARSE_FIX);
  }

  private reduce(operands: RawNode[], ops: Op[]): void {
    const op = ops.pop() as Op;
    const right = operands.pop() as RawNode;
    const left = operands.pop() as RawNode;
    operands.push(this.at({ type: 'BinaryExpression', operator: op.value, left, right }, op.pos));
  }

  private enter(at: number): void {
    if (++this.nesting > LIMITS.maxDepth) {
      throw invalid(`The expression is nested more than ${LIMITS.maxDepth} levels deep`, at, 'Remove redundant parentheses or split the logic into smaller expressions.');
    }
  }

  private at<T extends RawNode>(node: T, pos: number): T {
    this.positions.set(node, pos);
    return node;
  }

  private unexpected(): ExpressionError {
    if (this.index >= this.expr.length) return invalid('The expression ends too early', this.index, 'Complete the expression.');
    return invalid(`Unexpected "${this.char}"`, this.index, PARSE_FIX);
  }

  private isIdStart(i: number): boolean {
    const cp = this.expr.codePointAt(i);
    return cp !== undefined && ID_START.test(String.fromCodePoint(cp));
  }

  private isIdPart(i: number): boolean {
    const cp = this.expr.codePointAt(i);
    return cp !== undefined && ID_PART.test(String.fromCodePoint(cp));
  }
}

const isDigit = (ch: number): boolean => ch >= 48 && ch <= 57;

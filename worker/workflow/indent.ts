/**
 * A misindented line, told once and at its own line.
 *
 * The yaml parser reports a line indented deeper than its siblings as two errors
 * (BLOCK_AS_IMPLICIT_KEY and MULTILINE_IMPLICIT_KEY) at the value of the line *above* it, and a line
 * indented less than its siblings inside a list item as MISSING_CHAR ("Sequence item without -
 * indicator") or BAD_INDENT at the start of the line (or of the blank lines before it). `indentProblem` turns either into one sentence at the offending line's first
 * character, naming the column it should start at.
 *
 * Invariants:
 * 1. Pure: text and the parser's error (code, 0-based offset) in; a 0-based offset and a message out.
 * 2. Answers only when the text around the error really is a misindented key line (a deeper or
 *    shallower `key:` line after a `key: value` line); otherwise undefined and the raw error stays.
 */

export interface IndentProblem {
  /** 0-based offset of the first character of the misindented line's content. */
  readonly offset: number;
  /** 0-based offset of the key on the line it should line up with (for the document path). */
  readonly keyOffset: number;
  readonly message: string;
}

const DEEPER = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);
const SHALLOWER = new Set(['MISSING_CHAR', 'BAD_INDENT']);

interface Line {
  readonly start: number;
  readonly text: string;
  readonly number: number;
}

function lineAt(text: string, offset: number): Line {
  const start = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const end = text.indexOf('\n', start);
  let number = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < start; i = text.indexOf('\n', i + 1)) number++;
  return { start, text: text.slice(start, end < 0 ? text.length : end), number };
}

function isContent(line: string): boolean {
  const t = line.trim();
  return t !== '' && !t.startsWith('#');
}

/** The next (or previous) line holding content, skipping blank and comment lines. */
function neighbour(text: string, from: Line, step: 1 | -1): Line | undefined {
  let line = from;
  for (let i = 0; i < 10_000; i++) {
    if (step === 1) {
      const end = line.start + line.text.length;
      if (end >= text.length) return undefined;
      line = { start: end + 1, text: lineAt(text, end + 1).text, number: line.number + 1 };
    } else {
      if (line.start === 0) return undefined;
      const prev = lineAt(text, line.start - 1);
      line = { ...prev, number: line.number - 1 };
    }
    if (isContent(line.text)) return line;
  }
  return undefined;
}

/** 0-based column of a line's key: after its indentation and any `- ` list markers; the key's name. */
function keyOf(line: string): { column: number; name: string } | undefined {
  const m = /^((?:\s*-\s+)*\s*)([^\s#:][^:#]*?)\s*:(?:\s|$)/.exec(line);
  return m ? { column: m[1]!.length, name: m[2]! } : undefined;
}

const indentOf = (line: string): number => /^ */.exec(line)![0].length;

/** One sentence for a misindented line, or undefined when `code` at `offset` is not one. */
export function indentProblem(text: string, code: string, offset: number): IndentProblem | undefined {
  const at = lineAt(text, Math.min(Math.max(0, offset), text.length));
  let above: Line | undefined;
  let bad: Line | undefined;
  if (DEEPER.has(code)) {
    above = at;
    bad = neighbour(text, at, 1);
  } else if (SHALLOWER.has(code)) {
    bad = isContent(at.text) ? at : neighbour(text, at, 1);
    above = bad && neighbour(text, bad, -1);
  }
  if (above === undefined || bad === undefined) return undefined;
  const parent = keyOf(above.text);
  const own = keyOf(bad.text);
  if (parent === undefined || own === undefined || own.column === parent.column || bad.text.trimStart().startsWith('-')) return undefined;
  const col = indentOf(bad.text);
  if (DEEPER.has(code) && col <= parent.column) return undefined;
  const how = col > parent.column ? 'deeper than' : 'less than';
  const message = `"${own.name}:" on line ${bad.number} is indented ${how} "${parent.name}:" on line ${above.number} (column ${col + 1}, not ${parent.column + 1}); `
    + `start it at column ${parent.column + 1} to keep it in the same mapping`;
  return { offset: bad.start + col, keyOffset: above.start + parent.column, message };
}

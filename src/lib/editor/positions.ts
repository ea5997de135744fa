/**
 * The kernel's issues (1-based line and column) as ranges of the editor's text (pure, unit-tested).
 *
 * Invariants:
 * 1. A range always lies inside the text: a line past the end is the last line, a column past the
 *    end of its line is the line's end.
 * 2. The range covers the word (or quoted string, or `{{ … }}`) starting at the position, else the
 *    rest of the line, else one character; it is never empty unless the text is.
 */

export interface IssueLike {
  readonly line: number;
  readonly column: number;
}

/** 0-based offset of a 1-based line and column, clamped to the text. */
export function offsetOf(text: string, line: number, column: number): number {
  let start = 0;
  for (let l = 1; l < line; l++) {
    const next = text.indexOf('\n', start);
    if (next < 0) break;
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  const lineEnd = end < 0 ? text.length : end;
  return Math.min(start + Math.max(0, column - 1), lineEnd);
}

/** The range a lint marker for `issue` underlines. */
export function issueRange(text: string, issue: IssueLike): { from: number; to: number } {
  const from = offsetOf(text, issue.line, issue.column);
  const end = text.indexOf('\n', from);
  const rest = text.slice(from, end < 0 ? text.length : end);
  const token = /^(\{\{.*?\}\}|"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s:,[\]{}]+)/.exec(rest)?.[0];
  const len = token?.length ?? rest.trimEnd().length;
  if (len > 0) return { from, to: from + len };
  // An empty spot (end of a line, end of the text): one character before it, if any.
  return from > 0 && text[from - 1] !== '\n' ? { from: from - 1, to: from } : { from, to: Math.min(text.length, from + 1) };
}

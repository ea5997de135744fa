/**
 * Search snippets are plain text with matches between « and » (worker/domains/forest/search.ts). They are
 * split here into runs that a template renders as text, the `hit` runs inside <mark>: no HTML is
 * ever parsed from user text.
 */
export interface Run {
  readonly text: string;
  readonly hit: boolean;
}

export function markedRuns(snippet: string): Run[] {
  const out: Run[] = [];
  const re = /«([^«»]*)»/g;
  let last = 0;
  for (let m = re.exec(snippet); m; m = re.exec(snippet)) {
    if (m.index > last) out.push({ text: snippet.slice(last, m.index), hit: false });
    if (m[1]) out.push({ text: m[1], hit: true });
    last = m.index + m[0].length;
  }
  if (last < snippet.length) out.push({ text: snippet.slice(last), hit: false });
  return out;
}

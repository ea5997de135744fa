/**
 * Keep untouched lines byte for byte when a YAML document is re-printed after an edit.
 *
 * The `yaml` package prints a whole document with one style (flow padding, indentation), while a
 * hand-written file mixes styles (`[first]` on one line, `{ ms: 2000 }` on the next). So an edit
 * made through the Document API is carried back onto the original text as a patch:
 * `before` is the unedited document printed, `after` the edited one printed; each place where
 * they differ replaces the matching lines of `original`, and every other line of `original` is
 * kept as it was. A changed region that touches a line the printer had re-styled takes the
 * printer's form for that line only.
 *
 * Invariants:
 * 1. Pure and deterministic; no YAML knowledge (lines only). The caller checks that the result
 *    still means what `after` means and falls back to `after` when not (yaml-edit.ts does).
 * 2. When `original === before`, the result is `after`.
 * 3. Lines outside the changed regions (widened to whole re-styled runs) are copied from
 *    `original` unchanged, in order.
 */

/** A run of lines: equal in both texts, or a replacement of a's [a0, a1) by b's [b0, b1). */
export interface Segment {
  readonly a0: number;
  readonly a1: number;
  readonly b0: number;
  readonly b1: number;
  readonly equal: boolean;
}

/**
 * Line diff (Myers' O((N+M)·D) greedy algorithm) as segments covering both texts in order.
 * Common prefix and suffix are taken first, so a local edit of a long file stays cheap.
 */
export function diffLines(a: readonly string[], b: readonly string[]): Segment[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const ma = a.slice(pre, a.length - suf);
  const mb = b.slice(pre, b.length - suf);
  const pairs = myers(ma, mb).map(([i, j]) => [i + pre, j + pre] as const);
  const all: (readonly [number, number])[] = [];
  for (let i = 0; i < pre; i++) all.push([i, i]);
  all.push(...pairs);
  for (let k = suf; k > 0; k--) all.push([a.length - k, b.length - k]);
  const out: Segment[] = [];
  let ia = 0;
  let ib = 0;
  const push = (s: Segment): void => {
    const last = out[out.length - 1];
    if (last !== undefined && last.equal === s.equal) out[out.length - 1] = { ...last, a1: s.a1, b1: s.b1 };
    else out.push(s);
  };
  for (const [i, j] of all) {
    if (i > ia || j > ib) push({ a0: ia, a1: i, b0: ib, b1: j, equal: false });
    push({ a0: i, a1: i + 1, b0: j, b1: j + 1, equal: true });
    ia = i + 1;
    ib = j + 1;
  }
  if (ia < a.length || ib < b.length) push({ a0: ia, a1: a.length, b0: ib, b1: b.length, equal: false });
  return out;
}

/** Matched line pairs [i, j] of a longest common subsequence found by Myers' algorithm, in order. */
function myers(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [];
  const max = n + m;
  const offset = max;
  const v = new Int32Array(2 * max + 2);
  const trace: Int32Array[] = [];
  let found = false;
  for (let d = 0; d <= max && !found; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = true;
        break;
      }
    }
  }
  // Walk the trace back from (n, m), collecting the diagonal (matching) moves.
  const pairs: [number, number][] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && vd[offset + k - 1]! < vd[offset + k + 1]!) ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK]!;
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
      pairs.push([x, y]);
    }
    if (d > 0) {
      x = prevX;
      y = prevY;
    }
  }
  return pairs.reverse();
}

/** Carry the change from `before` to `after` onto `original` (see the module header). */
export function carryEdit(original: string, before: string, after: string): string {
  if (original === before) return after;
  const orig = original.split('\n');
  const bef = before.split('\n');
  const aft = after.split('\n');
  const styled = diffLines(orig, bef);
  const edits = diffLines(bef, aft);
  const restyled = styled.filter((s) => !s.equal && s.b0 < s.b1);
  // Widen each edit (in `before` lines) over the re-styled runs it touches; merge edits that meet.
  const regions: { a0: number; a1: number }[] = [];
  for (const e of edits) {
    if (e.equal) continue;
    let a0 = e.a0;
    let a1 = e.a1;
    for (let widened = true; widened;) {
      widened = false;
      for (const s of restyled) {
        const touches = a0 === a1 ? s.b0 < a0 && a0 < s.b1 : s.b0 < a1 && s.b1 > a0;
        if (touches && (s.b0 < a0 || s.b1 > a1)) {
          a0 = Math.min(a0, s.b0);
          a1 = Math.max(a1, s.b1);
          widened = true;
        }
      }
    }
    const last = regions[regions.length - 1];
    if (last !== undefined && a0 <= last.a1) last.a1 = Math.max(last.a1, a1);
    else regions.push({ a0, a1 });
  }
  const out: string[] = [];
  let origAt = 0;
  for (const r of regions) {
    // Lines only the original has, at a region's edge, stay outside it (kept).
    const o0 = Math.max(origAt, mapLine(styled, r.a0, 'b', 'after'));
    const o1 = Math.max(o0, mapLine(styled, r.a1, 'b', 'before'));
    // Lines only the edit has, at a region's edge, are inside it (written).
    const n0 = mapLine(edits, r.a0, 'a', 'before');
    const n1 = mapLine(edits, r.a1, 'a', 'after');
    out.push(...orig.slice(origAt, o0), ...aft.slice(n0, n1));
    origAt = o1;
  }
  out.push(...orig.slice(origAt));
  return out.join('\n');
}

/**
 * Map a line boundary `at` of one text (`own`: the segments' a or b side) to the other text.
 * Where the other text has lines the own text lacks at that boundary, `before` maps in front of
 * them and `after` behind them; a boundary inside a replaced run maps to the run's start
 * (`before`) or end (`after`).
 */
export function mapLine(segs: readonly Segment[], at: number, own: 'a' | 'b', bias: 'before' | 'after'): number {
  let found: number | undefined;
  for (const s of segs) {
    const [o0, o1, t0, t1] = own === 'a' ? [s.a0, s.a1, s.b0, s.b1] : [s.b0, s.b1, s.a0, s.a1];
    if (at < o0 || at > o1) continue;
    const t = s.equal ? t0 + (at - o0) : at === o0 && o0 !== o1 ? t0 : at === o1 && o0 !== o1 ? t1 : bias === 'before' ? t0 : t1;
    if (bias === 'before') return t;
    found = t;
  }
  return found ?? at;
}

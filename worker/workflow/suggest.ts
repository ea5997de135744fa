/**
 * Did-you-mean: the closest allowed name to a misspelt one (`depends_on` → `dependsOn`,
 * `retries` → `retry`, `exponentail` → `exponential`).
 *
 * Invariants:
 * 1. A suggestion is always one of the candidates; none is returned when nothing is close.
 * 2. Pure and bounded: candidates and inputs longer than 64 characters are not compared.
 */

export function suggest(input: string, candidates: Iterable<string>): string | undefined {
  if (input.length > 64) return undefined;
  const list = [...candidates].filter((c) => c.length <= 64);
  const n = norm(input);
  if (n === '') return undefined;
  const exact = list.find((c) => norm(c) === n);
  if (exact !== undefined) return exact;
  const synonym = Object.hasOwn(SYNONYMS, n) ? SYNONYMS[n] : undefined;
  if (synonym !== undefined) {
    const hit = synonym.find((s) => list.includes(s));
    if (hit !== undefined) return hit;
  }
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of list) {
    const m = norm(c);
    const d = distance(n, m);
    const limit = Math.max(1, Math.floor(Math.max(n.length, m.length) / 3));
    let score = d <= limit ? d : Infinity;
    const prefix = commonPrefix(n, m);
    if (score === Infinity && prefix >= 4 && prefix >= 0.6 * Math.min(n.length, m.length)) score = limit + 1;
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  return best;
}

/** `; did you mean "x"?` or '' — ready to append to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const s = suggest(input, candidates);
  return s === undefined ? '' : ` — did you mean "${s}"?`;
}

/** Words people carry over from other workflow tools, normalised (lowercase, no `_`/`-`). */
const SYNONYMS: { readonly [key: string]: readonly string[] | undefined } = {
  retries: ['retry'],
  retrypolicy: ['retry'],
  needs: ['dependsOn'],
  depends: ['dependsOn'],
  after: ['dependsOn'],
  requires: ['dependsOn'],
  condition: ['if'],
  when: ['if'],
  params: ['with'],
  parameters: ['with'],
  args: ['with'],
  vars: ['with', 'inputs'],
  config: ['with'],
  uses: ['runner', 'workflow'],
  run: ['runner'],
  label: ['name'],
  title: ['name'],
  kind: ['type'],
  items: ['over'],
  foreach: ['over'],
  each: ['over'],
  in: ['over'],
  parallelism: ['concurrency'],
  maxconcurrency: ['concurrency'],
  sleep: ['duration'],
  delay: ['initialDelay', 'duration'],
  checks: ['gate'],
  gates: ['gate'],
  check: ['gate', 'check'],
  attempts: ['maxAttempts'],
  maxretries: ['maxAttempts'],
  retryable: ['retryOn'],
  retryerrors: ['retryOn'],
  schema: ['outputSchema'],
  output: ['outputs'],
  input: ['inputs'],
  approver: ['approvers'],
  message: ['prompt', 'reason'],
  steps: ['branches', 'steps'],
  goto: ['onFailure'],
  onfail: ['onFailure'],
  next: ['then'],
  otherwise: ['else'],
  expression: ['if', 'check'],
  values: ['enum'],
  options: ['enum'],
  allowed: ['enum'],
};

function norm(s: string): string {
  return s.toLowerCase().replace(/[\s_-]/g, '');
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
function distance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The Dojo's first answer to an unmet request: which katas of the enabled realms it may be about.
 * A request ("track my monthly subscriptions") is cut into words; each kata scores by the words
 * found in its name (strongest), its tags, then its description. Pure functions (unit-tested:
 * test/unit/ui/realms-match.test.ts).
 *
 * Invariants:
 * 1. Words are compared by a crude stem (lower case, plural and -ing/-ed/-ment endings dropped when five letters remain),
 *    and two stems of four letters or more match when one begins the other ("deploy" ~
 *    "deployment", "subscription" ~ "subscriptions"); stop words never match.
 * 2. A kata with no compatible version still matches (the Dojo shows why it cannot be installed),
 *    but ranks after every compatible one with the same score.
 * 3. The result names the words that matched, so the screen can say why a kata is suggested.
 */
import type { KataRow } from './types.ts';

const STOP = new Set([
  'a', 'an', 'and', 'any', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'for', 'from', 'get', 'have', 'i', 'in', 'into', 'is', 'it', 'its',
  'me', 'my', 'need', 'of', 'on', 'or', 'our', 'please', 'so', 'some', 'that', 'the', 'their', 'them', 'then', 'this', 'to', 'up', 'us',
  'want', 'we', 'what', 'when', 'with', 'would', 'you', 'your', 'all', 'every', 'each', 'like', 'make', 'should', 'could', 'something',
]);

/** One word's stem (invariant 1). */
export function stem(word: string): string {
  let w = word.toLowerCase();
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(?:ss|sh|ch|x)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  for (const suffix of ['ment', 'ing', 'ed']) {
    if (w.length - suffix.length >= 5 && w.endsWith(suffix)) return w.slice(0, -suffix.length);
  }
  return w;
}

/** The request's meaningful words as stems, in order, without repeats. */
export function words(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.normalize('NFKC').toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
    if (raw === '' || STOP.has(raw)) continue;
    const s = stem(raw);
    if (s.length >= 2 && !out.includes(s)) out.push(s);
  }
  return out;
}

function same(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.startsWith(short);
}

const hits = (want: readonly string[], have: readonly string[]): string[] => want.filter((w) => have.some((h) => same(w, h)));

export interface KataMatch {
  readonly kata: KataRow;
  readonly score: number;
  /** The request's words found in the kata, by where (invariant 3). */
  readonly matched: { readonly name: readonly string[]; readonly tags: readonly string[]; readonly description: readonly string[] };
  readonly compatible: boolean;
}

/** Katas the request may be about, best first (at most `limit`). */
export function matchKatas(request: string, katas: readonly KataRow[], limit = 10): KataMatch[] {
  const want = words(request);
  if (want.length === 0) return [];
  const out: KataMatch[] = [];
  for (const kata of katas) {
    const name = hits(want, words(kata.name.replace(/[._-]+/g, ' ')));
    const tags = hits(want, kata.tags.flatMap((t) => words(t)));
    const description = hits(want, words(kata.description));
    const score = name.length * 3 + tags.length * 2 + description.length;
    if (score === 0) continue;
    out.push({ kata, score, matched: { name, tags, description }, compatible: kata.versions.some((v) => v.compatible) });
  }
  return out
    .sort((a, b) => b.score - a.score || Number(b.compatible) - Number(a.compatible) || a.kata.name.localeCompare(b.kata.name) || a.kata.realm.localeCompare(b.kata.realm))
    .slice(0, limit);
}

/** Why a kata is suggested, in words ("“deploy” in its name, “ops” in its tags"). */
export function matchReason(m: KataMatch): string {
  const part = (list: readonly string[], where: string): string | null => (list.length === 0 ? null : `${list.map((w) => `“${w}”`).join(', ')} in its ${where}`);
  return [part(m.matched.name, 'name'), part(m.matched.tags, 'tags'), part(m.matched.description, 'description')].filter((x) => x !== null).join('; ');
}

/**
 * Kata names as a person reads them: two names that look alike are one name. `Finance.Audit`,
 * `finance-audit`, `finance_audit` and `fіnance.audit` (a Cyrillic і) all normalise to
 * `financeaudit`, so a realm cannot offer a look-alike of a kata a person trusts.
 *
 * Normalisation: Unicode NFKC (full-width and compatibility forms), lower case, the confusable
 * letters below mapped to the Latin letter they imitate (Cyrillic, Greek, and the digits 0 and 1
 * that pass for o and l), then everything but a–z and 0–9 dropped (dots, dashes, underscores,
 * spaces, zero-width characters). A name that normalises to nothing is refused by the format's
 * pattern long before (format.ts kataName).
 *
 * Invariant: pure; `skeleton(skeleton(x)) === skeleton(x)`.
 */

/** Letters that look like a Latin letter (Unicode confusables, the common ones). */
const CONFUSABLES: Readonly<Record<string, string>> = {
  // Cyrillic
  'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
  'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ɡ': 'g',
  // Greek
  'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u',
  'χ': 'x', 'ω': 'w', 'ζ': 'z',
  // Latin look-alikes and digits that pass for letters
  'ı': 'i', 'ł': 'l', 'ø': 'o', 'ß': 'ss', '0': 'o', '1': 'l', '5': 's',
};

/** The form two names are compared in. */
export function skeleton(name: string): string {
  let out = '';
  for (const ch of name.normalize('NFKC').toLowerCase()) {
    const mapped = CONFUSABLES[ch] ?? ch;
    // Letters with diacritics (é, ñ) compare as their base letter.
    for (const c of mapped.normalize('NFD')) if (/[a-z0-9]/.test(c)) out += CONFUSABLES[c] ?? c;
  }
  return out;
}

/** Pairs of distinct names among `names` that normalise to the same skeleton. */
export function collisions(names: Iterable<string>): [string, string][] {
  const bySkeleton = new Map<string, string>();
  const out: [string, string][] = [];
  for (const name of names) {
    const s = skeleton(name);
    const first = bySkeleton.get(s);
    if (first === undefined) bySkeleton.set(s, name);
    else if (first !== name) out.push([first, name]);
  }
  return out;
}

/**
 * The module references of a source text (static imports and exports with their clause,
 * side-effect imports, dynamic `import()`), for the tests that keep the UI's imports in shape
 * (no-worker-imports.test.ts, canvas-lazy.test.ts).
 */

/** Every module reference of a source text: static imports/exports (with their clause), side-effect and dynamic imports. */
export function references(text: string): { statement: string; spec: string; typeOnly: boolean }[] {
  const out: { statement: string; spec: string; typeOnly: boolean }[] = [];
  const fromRe = /(?:^|[\n;])\s*((import|export)\s+([^;()='"`]*?)\s*from\s*['"]([^'"]+)['"])/g;
  for (const m of text.matchAll(fromRe)) out.push({ statement: m[1]!, spec: m[4]!, typeOnly: /^type\b/.test(m[3]!) });
  for (const m of text.matchAll(/(?:^|[\n;])\s*(import\s*['"]([^'"]+)['"])/g)) out.push({ statement: m[1]!, spec: m[2]!, typeOnly: false });
  for (const m of text.matchAll(/(import\s*\(\s*['"]([^'"]+)['"]\s*\))/g)) out.push({ statement: m[1]!, spec: m[2]!, typeOnly: false });
  return out;
}

/**
 * A build step for the kernel worker: the `description` of every kernel definition (a command
 * `{ type, description, schema, … }`, a query `{ name, description, schema, … }`, an event
 * `{ type, version, description, schema, … }`) is documentation — docs/commands.md is generated
 * from it in Node (scripts/gen-docs.ts) and nothing in the running app reads it — so the browser
 * build replaces it with ''. So are the sentences of the error catalogue (`ERROR_CODES` in
 * worker/kernel/errors.ts: docs/errors.md is generated from them; at run time only its keys are
 * read). About 8.5 kB gzipped of the worker's first chunk (docs/benchmarks.md, "Fast to open").
 *
 * Invariants:
 * 1. Only a property named `description` whose value is written as a string (quotes, a template,
 *    or strings joined with +) in an object literal that also has `schema` and `type` or `name`,
 *    in files under worker/domains/ or worker/kernel/. Anything else is left as written — a
 *    migration's description (used in its error message), `concurrent` (the conflicts view shows
 *    it), any description computed at run time.
 * 2. Build only (`apply: 'build'`): Node (tests, gen-docs) and the dev server run the source.
 * 3. Source maps stay exact (magic-string), so the bundle-size attribution still names files.
 */
import ts from 'typescript';
import MagicString from 'magic-string';
import type { Plugin } from 'vite';

const SCOPE = /[\\/]worker[\\/](?:domains|kernel)[\\/].+\.ts$/;

export function stripDefinitionDocs(): Plugin {
  return {
    name: 'kingdom:strip-definition-docs',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!SCOPE.test(id) || !(code.includes('description') || code.includes('ERROR_CODES'))) return null;
      const ranges = docRanges(code, id);
      if (ranges.length === 0) return null;
      const s = new MagicString(code);
      for (const [start, end] of ranges) s.overwrite(start, end, "''");
      return { code: s.toString(), map: s.generateMap({ hires: true, source: id }) };
    },
  };
}

/** Where the description strings of the definitions in `code` are (start, end of each value). */
export function docRanges(code: string, fileName = 'file.ts'): [number, number][] {
  const file = ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: [number, number][] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'ERROR_CODES' && node.initializer !== undefined) {
      const init = ts.isAsExpression(node.initializer) ? node.initializer.expression : node.initializer;
      if (ts.isObjectLiteralExpression(init)) {
        for (const p of init.properties) if (ts.isPropertyAssignment(p) && isWrittenString(p.initializer)) out.push([p.initializer.getStart(file), p.initializer.getEnd()]);
      }
    }
    if (ts.isObjectLiteralExpression(node)) {
      const names = new Set(node.properties.map((p) => (p.name !== undefined && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) ? p.name.text : '')));
      if (names.has('description') && names.has('schema') && (names.has('type') || names.has('name'))) {
        for (const p of node.properties) {
          if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && p.name.text === 'description' && isWrittenString(p.initializer)) {
            out.push([p.initializer.getStart(file), p.initializer.getEnd()]);
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

function isWrittenString(e: ts.Expression): boolean {
  if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return true;
  if (ts.isParenthesizedExpression(e)) return isWrittenString(e.expression);
  if (ts.isTemplateExpression(e)) return e.templateSpans.every((span) => ts.isIdentifier(span.expression) || ts.isStringLiteral(span.expression));
  return ts.isBinaryExpression(e) && e.operatorToken.kind === ts.SyntaxKind.PlusToken && isWrittenString(e.left) && isWrittenString(e.right);
}

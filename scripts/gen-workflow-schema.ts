/**
 * Regenerate the generated parts of docs/workflows.md from the code, so they cannot drift:
 *   <!-- BEGIN GENERATED: json-schema -->      the JSON Schema of the file format (zod → JSON Schema)
 *   <!-- BEGIN GENERATED: issue-codes -->      the WorkflowIssue code catalogue
 *   <!-- BEGIN GENERATED: example <name> -->   test/fixtures/workflows/<name>.yaml, verbatim
 * Text outside the markers is left as written. Run: `npx tsx scripts/gen-workflow-schema.ts`
 * (test/unit/workflow/docs.test.ts fails when the file is stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { WORKFLOW_ISSUE_CODES, workflowJsonSchema } from '../worker/workflow/index.ts';

export const DOC_PATH = 'docs/workflows.md';
const FIXTURE_DIR = 'test/fixtures/workflows';

/** `markdown` with every generated section replaced by its current content. */
export function renderWorkflowDocs(markdown: string, readFixture: (name: string) => string = defaultFixture): string {
  // The END marker repeats the whole label (`example decision`), so each section ends at its own marker.
  return markdown.replace(/(<!-- BEGIN GENERATED: (([a-z-]+)(?: ([a-z0-9-]+))?) -->\n)[\s\S]*?(<!-- END GENERATED: \2 -->)/g, (_m, begin: string, _label: string, kind: string, arg: string | undefined, end: string) => {
    return `${begin}${section(kind, arg, readFixture)}${end}`;
  });
}

function section(kind: string, arg: string | undefined, readFixture: (name: string) => string): string {
  switch (kind) {
    case 'json-schema':
      return `\`\`\`json\n${JSON.stringify(workflowJsonSchema(), null, 2)}\n\`\`\`\n`;
    case 'issue-codes': {
      let out = '| code | meaning |\n|---|---|\n';
      for (const [code, meaning] of Object.entries(WORKFLOW_ISSUE_CODES)) out += `| \`${code}\` | ${meaning} |\n`;
      return out;
    }
    case 'example':
      if (arg === undefined) throw new Error('an example marker needs a fixture name');
      return `\`\`\`yaml\n# test/fixtures/workflows/${arg}.yaml\n${readFixture(arg).trimEnd()}\n\`\`\`\n`;
    default:
      throw new Error(`unknown generated section "${kind}"`);
  }
}

function defaultFixture(name: string): string {
  return readFileSync(`${FIXTURE_DIR}/${name}.yaml`, 'utf8');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const before = readFileSync(DOC_PATH, 'utf8');
  const after = renderWorkflowDocs(before);
  writeFileSync(DOC_PATH, after);
  console.log(after === before ? `${DOC_PATH} was up to date` : `wrote ${DOC_PATH}`);
}

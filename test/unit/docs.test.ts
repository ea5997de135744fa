import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { commandsMarkdown, errorsMarkdown } from '../../scripts/gen-docs.ts';

test('docs/errors.md is what scripts/gen-docs.ts generates from the error catalogue', () => {
  assert.equal(readFileSync('docs/errors.md', 'utf8'), errorsMarkdown(), 'stale: run `npx tsx scripts/gen-docs.ts`');
});

test('docs/commands.md is what scripts/gen-docs.ts generates from the registered modules', () => {
  assert.equal(readFileSync('docs/commands.md', 'utf8'), commandsMarkdown(), 'stale: run `npx tsx scripts/gen-docs.ts`');
});

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

test('every state-changing command says what happens when two devices issue it at once', async () => {
  const { coreModule } = await import('../../worker/kernel/core-module.ts');
  const { DEFAULT_MODULES } = await import('../../worker/modules.ts');
  const missing = [coreModule, ...DEFAULT_MODULES].flatMap((m) => m.commands ?? []).filter((c) => c.mutates && !c.concurrent).map((c) => c.type);
  assert.deepEqual(missing, [], 'add `concurrent` to these command definitions (docs/commands.md shows it)');
});

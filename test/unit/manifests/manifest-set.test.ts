/**
 * The generated manifest set (test/helpers/manifest-set.ts) that the registry benchmarks and a
 * kernel-level bench use: deterministic, exactly `total` manifests, every text valid, and the
 * whole set resolves with no missing need and no cycle; an edit changes the text and stays valid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifest, type Manifest } from '../../../worker/manifests/parse.ts';
import { resolve } from '../../../worker/manifests/registry.ts';
import { editedText, generateManifestSet } from '../../helpers/manifest-set.ts';

function parsed(text: string): Manifest {
  const r = parseManifest(text);
  if (!r.ok) assert.fail(`${text}\n${r.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}`);
  return r.manifest;
}

test('the generated set: 1,000 valid manifests of every kind that resolve cleanly, the same each time', () => {
  const set = generateManifestSet();
  assert.equal(set.length, 1000);
  assert.deepEqual(generateManifestSet().map((m) => m.text), set.map((m) => m.text));
  const kinds = new Set(set.map((m) => m.kind));
  assert.deepEqual([...kinds].sort(), ['Agent', 'Kata', 'Monument', 'Relic', 'Tool', 'Workflow']);
  const manifests = set.map((m) => parsed(m.text));
  manifests.forEach((m, i) => assert.deepEqual([m.kind, m.name, m.version], [set[i]!.kind, set[i]!.name, set[i]!.version]));
  const r = resolve(manifests);
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.cycles, []);
  // Workflows need the Tools their task steps call, in the range their imports state (the import
  // stands for the step's need), and some tools exist in several versions.
  const wf = set.findIndex((m) => m.kind === 'Workflow');
  const needs = r.edges.get(`Workflow/${set[wf]!.name}@1.0.0`)!;
  assert.ok(needs.some((e) => e.need.kind === 'Tool' && e.need.via.startsWith('imports[') && e.to !== null), 'a Tool need met through the import');
  assert.ok(!needs.some((e) => e.need.via.startsWith('steps.')), 'no second, range-less need for an imported Tool');
  assert.ok(set.some((m) => m.kind === 'Tool' && m.version === '2.0.0'));
});

test('another size and seed; an edit is a different valid text', () => {
  const set = generateManifestSet({ total: 60, seed: 3 });
  assert.equal(set.length, 60);
  assert.deepEqual(resolve(set.map((m) => parsed(m.text))).missing, []);
  const m = set.find((x) => x.kind === 'Workflow')!;
  const edited = editedText(m, 1);
  assert.notEqual(edited, m.text);
  assert.match(parsed(edited).kind, /Workflow/);
});

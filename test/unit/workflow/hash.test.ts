/**
 * The workflow hash: SHA-256 of the canonical JSON of the normalised workflow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../../worker/kernel/log/canonical.ts';
import { sha256Hex } from '../../../worker/kernel/log/hash.ts';
import { workflowHash } from '../../../worker/workflow/index.ts';
import { fixtureText, valid } from './helpers.ts';

const block = 'name: t\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runner: http\n    timeout: 1m\n    dependsOn: []\n';

test('the hash is the SHA-256 of the canonical JSON of the normalised workflow', () => {
  const { workflow, hash } = valid(fixtureText('decision.yaml'));
  assert.equal(hash, sha256Hex(canonicalJson(workflow)));
  assert.equal(hash, workflowHash(workflow));
  assert.match(hash, /^[0-9a-f]{64}$/);
});

test('formatting, comments, key order and short forms do not change the hash', () => {
  const flow = '# same workflow\nversion: "1.0.0"\nname: t\nsteps: [{ runner: http, type: task, id: a, timeout: 60000 }]\n';
  assert.equal(valid(block).hash, valid(flow).hash);
  assert.equal(valid(block).hash, valid(block.replace('timeout: 1m', 'timeout: PT1M')).hash);
});

test('any semantic change changes the hash', () => {
  const base = valid(block).hash;
  assert.notEqual(valid(block.replace('timeout: 1m', 'timeout: 2m')).hash, base);
  assert.notEqual(valid(block.replace('runner: http', 'runner: transform')).hash, base);
  assert.notEqual(valid(block.replace('version: 1.0.0', 'version: 1.0.1')).hash, base);
});

test('parsing the same text twice gives equal workflows and hashes', () => {
  const a = valid(fixtureText('parallel.yaml'));
  const b = valid(fixtureText('parallel.yaml'));
  assert.deepEqual(a, b);
});

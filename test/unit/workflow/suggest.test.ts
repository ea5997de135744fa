import { test } from 'node:test';
import assert from 'node:assert/strict';
import { suggest } from '../../../worker/workflow/suggest.ts';

const STEP_KEYS = ['id', 'name', 'type', 'dependsOn', 'join', 'if', 'retry', 'timeout', 'hooks', 'gate', 'onFailure', 'outputs', 'runner', 'with'];

test('case, underscores and dashes are ignored', () => {
  assert.equal(suggest('depends_on', STEP_KEYS), 'dependsOn');
  assert.equal(suggest('dependson', STEP_KEYS), 'dependsOn');
  assert.equal(suggest('on-failure', STEP_KEYS), 'onFailure');
});

test('small typos and transpositions are close', () => {
  assert.equal(suggest('runer', STEP_KEYS), 'runner');
  assert.equal(suggest('tiemout', STEP_KEYS), 'timeout');
  assert.equal(suggest('exponentail', ['exponential', 'linear', 'fixed']), 'exponential');
});

test('words from other tools map to ours when that key exists here', () => {
  assert.equal(suggest('retries', STEP_KEYS), 'retry');
  assert.equal(suggest('needs', STEP_KEYS), 'dependsOn');
  assert.equal(suggest('condition', STEP_KEYS), 'if');
  assert.equal(suggest('params', STEP_KEYS), 'with');
  assert.equal(suggest('needs', ['a', 'b']), undefined);
});

test('nothing is suggested when nothing is close, or for inherited property names', () => {
  assert.equal(suggest('banana', STEP_KEYS), undefined);
  assert.equal(suggest('constructor', STEP_KEYS), undefined);
  assert.equal(suggest('__proto__', STEP_KEYS), undefined);
  assert.equal(suggest('', STEP_KEYS), undefined);
});

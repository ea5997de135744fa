/**
 * The command bar's failures in words (src/lib/intent/failure.ts) and its model choice
 * (src/lib/intent/model-choice.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerFailure, guessWorkflow, sessionFailure } from '../../../src/lib/intent/failure.ts';
import { chooseModel, modelRef } from '../../../src/lib/intent/model-choice.ts';
import { hasAction } from '../../../src/lib/words/plain.ts';

test('an agent that found no fitting answer: the plain explanation, and the run form offered', () => {
  const f = sessionFailure({ type: 'invalid_output', message: 'agent: no answer matched the outputSchema within 3 turns', details: { turns: 3, maxTurns: 3 } }, 'failed', 'deploy');
  assert.equal(f.sentence, 'The model’s answers did not fit what Kingdom needed after 3 tries. Try another model or rephrase — or open the run form instead.');
  assert.equal(f.code, 'invalid_output');
  assert.equal(f.detail, 'agent: no answer matched the outputSchema within 3 turns');
  assert.equal(f.workflow, 'deploy');
  for (const s of [f.sentence, sessionFailure({ type: 'auth', message: 'x' }, 'failed', null).sentence, sessionFailure(null, 'cancelled', null).sentence,
    answerFailure('The model did not name a workflow.', 'no_workflow', null).sentence]) {
    assert.ok(hasAction(s), s);
    assert.doesNotMatch(s, /\b[a-z]+_[a-z_]+\b/, s);
  }
});

test('which workflow the request was about: the last answer, else the sentence', () => {
  const names = ['hello', 'deploy', 'fix_until_green', 'deploy_all'];
  assert.equal(guessWorkflow(names, 'please do it', ['{"workflow":"hello","inputs":{}}']), 'hello');
  assert.equal(guessWorkflow(names, 'Deploy api-gateway v2.1.0 to staging'), 'deploy');
  assert.equal(guessWorkflow(names, 'deploy all services now'), 'deploy_all', 'the longest name wins');
  assert.equal(guessWorkflow(names, 'run fix until green please'), 'fix_until_green');
  assert.equal(guessWorkflow(names, 'do something'), null);
  assert.equal(guessWorkflow(names, 'x', ['{"workflow":"nope"}', 'not json']), null);
});

test('the model choice: the remembered one while configured, else the first', () => {
  const providers = [{ id: 'a', models: [] }, { id: 'b', models: ['b1', 'b2'] }, { id: 'c', models: ['c1'] }];
  assert.deepEqual(chooseModel(providers, null), { provider: 'b', model: 'b1' });
  assert.deepEqual(chooseModel(providers, { provider: 'c', model: 'c1' }), { provider: 'c', model: 'c1' });
  assert.deepEqual(chooseModel(providers, { provider: 'b', model: 'gone' }), { provider: 'b', model: 'b1' });
  assert.deepEqual(chooseModel(providers, { provider: 'gone', model: 'c1' }), { provider: 'b', model: 'b1' });
  assert.equal(chooseModel([{ id: 'a', models: [] }], null), null);
  assert.equal(modelRef({ provider: 'b', model: 'b2' }), 'b/b2');
});

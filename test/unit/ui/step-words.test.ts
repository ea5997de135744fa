/**
 * Step and session failures in words (src/lib/words/step-words.ts): every known runner error type
 * gives a plain sentence ending with what to do, and the agent's invalid_output names the tries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STEP_WORDS, stepProblem, stepSentence } from '../../../src/lib/words/step-words.ts';
import { hasAction } from '../../../src/lib/words/plain.ts';

const SNAKE = /\b[a-z][a-z0-9]*_[a-z0-9_]+\b/;

test('every step error type has a plain sentence that ends with an action', () => {
  for (const type of [...Object.keys(STEP_WORDS), 'something_new']) {
    const s = stepSentence({ type, message: `${type}: it_broke at payload.x` });
    assert.doesNotMatch(s, SNAKE, `${type}: “${s}”`);
    assert.doesNotMatch(s, /payload\./, `${type}: “${s}”`);
    assert.ok(hasAction(s), `${type}: ends with an action: “${s}”`);
  }
});

test('the agent that found no fitting answer: the tries are counted', () => {
  const e = { type: 'invalid_output', message: 'agent: no answer matched the outputSchema within 3 turns', details: { turns: 3, maxTurns: 3, lastText: '' } };
  assert.equal(stepProblem(e), 'The model’s answers did not fit what Kingdom needed after 3 tries.');
  assert.equal(stepProblem({ type: 'invalid_output', message: 'agent: no answer matched the outputSchema within 1 turn' }), 'The model’s answers did not fit what Kingdom needed after 1 try.');
  assert.equal(stepProblem({ type: 'invalid_output', message: 'llm: answer did not match', details: { attempts: 2 } }), 'The model’s answers did not fit what Kingdom needed after 2 tries.');
});

test('provider failures: the key, an unknown model, the network', () => {
  assert.match(stepSentence({ type: 'auth', message: 'fake answered 401: bad key (check the API key)' }), /^The provider refused the API key\. Check the key in Settings/);
  assert.equal(stepSentence({ type: 'bad_request', message: 'fake answered 404: The model `x` does not exist', details: { status: 404 } }),
    'The provider does not know this model. Pick another model (Settings → LLM providers, or the step’s model), then run it again.');
  assert.match(stepSentence({ type: 'network', message: 'fake: request failed: Failed to fetch' }), /CORS/);
  assert.equal(stepSentence({ type: 'gate_failed', message: '3 tests failed: a, b, c' }), 'The step’s result did not pass its checks: 3 tests failed: a, b, c. Fix what the checks name, then retry.');
  assert.equal(stepSentence({ type: 'approval_rejected', message: 'Rejected by user: not today' }), 'user rejected this step: “not today”. Read their comment, change what they asked for, and retry.');
});

test('every test-connection failure is a plain sentence with what to do', async () => {
  const { probeSentence } = await import('../../../src/lib/words/provider-words.ts');
  const where = { baseUrl: 'http://127.0.0.1:1/v1', origin: 'http://127.0.0.1:4173' };
  assert.equal(probeSentence({ ok: true, provider: 'p', model: 'gpt-x', answeredBy: 'gpt-x-1', latencyMs: 420 }, where), 'Connected — gpt-x answered in 420 ms.');
  for (const kind of ['auth', 'unreachable', 'model_unknown', 'not_found', 'timeout', 'rate_limit', 'refused', 'server_error'] as const) {
    const s = probeSentence({ ok: false, provider: 'p', model: 'm', kind, message: 'x', status: 500, latencyMs: 1 }, where);
    assert.doesNotMatch(s, SNAKE, `${kind}: “${s}”`);
    assert.ok(hasAction(s), `${kind}: ends with an action: “${s}”`);
  }
  assert.match(probeSentence({ ok: false, provider: 'p', model: 'm', kind: 'unreachable', message: 'x', latencyMs: 1 }, where), /CORS/);
});

test('a call the workspace policy refused: the sentence names the host or runner and the rule', () => {
  const message = 'The workspace policy does not allow calls to evil.example.com (denied by *.example.com). Change the policy in Settings → Policies if this call is intended.';
  assert.equal(stepSentence({ type: 'policy_denied', message }), message);
  assert.equal(stepProblem({ type: 'policy_denied', message: 'The workspace policy does not allow the runner http (not in the allowed runners). Change it.' }),
    'The workspace policy does not allow the runner http (not in the allowed runners).');
  assert.equal(stepProblem({ type: 'policy_denied', message: 'something else' }), 'The workspace policy does not allow this call, so it was not made.');
});

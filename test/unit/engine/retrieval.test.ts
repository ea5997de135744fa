/**
 * Retrieval into prompts: an llm step's `context` (forest search and history of earlier sessions
 * of the same workflow, successes and failures) is retrieved when the step starts, readable as
 * {{ context.<name> }}, recorded in step.started, linked from the session's summary node, and
 * checked statically (an undeclared context name is an issue).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { summaryNodeId } from '../../../worker/engine/learning.ts';
import { parseWorkflow } from '../../../worker/workflow/index.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { Harness, type SessionView } from './sessions/helpers.ts';

let fake: FakeLlmServer;
before(async () => { fake = await startFakeOpenAI(); });
after(async () => { await fake.close(); });

const openLlm = (): Promise<Harness> => Harness.withModels(fake.url);
const finish = (h: Harness, id: string): Promise<SessionView> => h.ended(id);

const prompt = (i: number): string => (fake.requests[i]!.body as { messages: { content: string }[] }).messages.map((m) => m.content).join('\n');

const DEPLOY = `
name: deploy_advice
version: 1.0.0
inputs:
  service: { type: string, required: true }
steps:
  - id: advise
    type: llm
    model: fake-model
    context:
      past: { history: { topK: 3, budget: 2000 } }
      failures: { history: { outcome: failed, topK: 2 } }
      runbooks: { forest: { query: "{{ inputs.service }}", tags: [runbook], topK: 2 } }
    prompt: |
      Advise on deploying {{ inputs.service }}.
      Runbooks: {{ context.runbooks }}
      Earlier runs: {{ context.past }}
      Earlier failures: {{ context.failures }}
    outputSchema: { type: object, required: [advice], properties: { advice: { type: string } } }
outputs:
  advice: "{{ steps.advise.output.json.advice }}"
`;

describe('retrieval into prompts', () => {
  test('history and forest context: the second run\'s prompt carries the first run, recorded and linked', async () => {
    const h = await openLlm();
    fake.reset();
    try {
      const runbook = (h.cmd('forest.node.create', { title: 'Runbook: billing deploys', body: 'Drain the billing queue before deploying billing.', tags: ['runbook'] }) as { nodeId: string }).nodeId;
      fake.push({ json: { advice: 'Deploy billing after the PELICAN-42 migration.' } }, { json: { advice: 'As before.' } });
      const first = h.start(DEPLOY, { service: 'billing' });
      assert.equal((await finish(h, first)).status, 'succeeded');
      assert.match(prompt(0), /Drain the billing queue/);
      assert.doesNotMatch(prompt(0), /PELICAN-42/);

      const second = h.start(DEPLOY, { service: 'billing' });
      assert.equal((await finish(h, second)).status, 'succeeded');
      assert.match(prompt(1), /Earlier runs: - \*\*deploy_advice run .*: succeeded\*\*[\s\S]*PELICAN-42/, 'the first run\'s summary is in the second prompt');
      assert.match(prompt(1), /Earlier failures: \n/, 'no failed run yet: empty');

      // Recorded with the step: the text and the nodes it came from.
      const started = h.payloads<{ step: string; context?: Record<string, { text: string; read: string[]; total: number }> }>(second, 'step.started').find((p) => p.step === 'advise')!;
      assert.deepEqual(started.context!['past']!.read, [summaryNodeId(first)]);
      assert.deepEqual(started.context!['runbooks']!.read, [runbook]);
      assert.equal(started.context!['failures']!.total, 0);
      // The second session's summary links what its prompt read.
      const summary = h.k.query('forest.node.get', { id: summaryNodeId(second) }) as { incoming: { from: string; type: string }[] };
      assert.deepEqual(summary.incoming.map((l) => [l.from, l.type]).sort(), [[runbook, 'read_by'], [summaryNodeId(first), 'read_by']].sort());
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test('failures are recalled by outcome', async () => {
    const h = await openLlm();
    fake.reset();
    try {
      fake.push({ error: { status: 400, message: 'bad request: OSPREY-9 quota' } }, { json: { advice: 'ok' } });
      const first = h.start(DEPLOY, { service: 'search' });
      assert.equal((await finish(h, first)).status, 'failed');
      const second = h.start(DEPLOY, { service: 'search' });
      assert.equal((await finish(h, second)).status, 'succeeded');
      assert.match(prompt(1), /Earlier failures: - \*\*deploy_advice run .*: failed\*\*[\s\S]*OSPREY-9/);
    } finally {
      await h.close();
    }
  });

  test('an undeclared context name is an issue with a suggestion; context is not readable outside prompt and system', () => {
    const bad = parseWorkflow(`
name: x
version: 1.0.0
steps:
  - id: a
    type: llm
    model: m
    context: { past: { history: {} } }
    prompt: "{{ context.pats }}"
  - id: b
    type: task
    runner: noop
    dependsOn: [a]
    with: { v: "{{ context.past }}" }
`);
    assert.equal(bad.ok, false);
    const messages = bad.ok ? [] : bad.errors.map((e) => `${e.path}: ${e.message}`);
    assert.ok(messages.some((m) => /steps\[0\]\.prompt: context\.pats is not declared.*did you mean context\.past/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /steps\[1\]\.with\.v: "context" is not defined here/.test(m)), messages.join('\n'));
    const retrieval = parseWorkflow('name: x\nversion: 1.0.0\nsteps:\n  - id: a\n    type: llm\n    model: m\n    prompt: p\n    context: { r: { google: { query: x } } }\n');
    assert.equal(retrieval.ok, false);
  });
});

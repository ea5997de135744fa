/**
 * Custom runners from Node (`openKingdom({ engine: { runners } })`) are ADDED to the engine's
 * defaults (worker/engine/engine-runners.ts withCustomRunners):
 * 1. A custom runner and an llm step (fake OpenAI server, real HTTP on 127.0.0.1) both run in one
 *    session: the llm runner bound to the configured provider is kept.
 * 2. The same with `[...defaultRunners(), mine]`: the unbound llm placeholder from defaultRunners()
 *    does not shadow the bound llm runner.
 * 3. A custom runner named like a default (`transform`) replaces that default, deliberately.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom, type KingdomApi } from '../../../worker/node/index.ts';
import { defaultRunners, type Runner } from '../../../worker/engine/runners/index.ts';
import type { Json } from '../../../worker/kernel/errors.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { newKey } from '../../helpers/kernel.ts';

let fake: FakeLlmServer;
before(async () => {
  fake = await startFakeOpenAI();
});
after(async () => {
  await fake.close();
});

const shout: Runner = {
  name: 'my.shout',
  capabilities: { pure: true, network: false, stepTypes: ['task'], description: 'Upper-cases with.text.' },
  health: () => Promise.resolve({ ok: true, detail: 'ok' }),
  execute: (req) => Promise.resolve(String((req.input as { text?: unknown }).text ?? '').toUpperCase()),
};

const BOTH = `
name: custom_and_llm
version: 1.0.0
steps:
  - id: ask
    type: llm
    model: fake-model
    prompt: "Name a colour."
    outputSchema: { type: object, required: [colour], properties: { colour: { type: string } } }
  - id: loud
    type: task
    runner: my.shout
    dependsOn: [ask]
    with: { text: "{{ steps.ask.output.json.colour }}" }
outputs:
  colour: "{{ steps.loud.output }}"
`;

interface Session {
  status: string;
  output: Json;
  error: Json;
}

async function run(k: KingdomApi, source: string): Promise<Session> {
  const provider = await k.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: newKey() });
  assert.ok(provider.ok, JSON.stringify(provider));
  const started = await k.command({ type: 'session.start', payload: { source, inputs: {} }, idempotencyKey: newKey() });
  assert.ok(started.ok, JSON.stringify(started));
  const sessionId = (started.value.value as { sessionId: string }).sessionId;
  for (let i = 0; i < 400; i++) {
    const s = await k.query<Session>('session.get', { sessionId });
    assert.ok(s.ok, JSON.stringify(s));
    if (['succeeded', 'failed', 'cancelled'].includes(s.value.status)) return s.value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the session did not end');
}

describe('custom runners are added to the defaults', () => {
  test('a custom runner and an llm step both run (runners: [mine])', async () => {
    fake.reset();
    fake.push({ json: { colour: 'teal' } });
    const k = await openKingdom({ engine: { runners: [shout] } });
    try {
      const s = await run(k, BOTH);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { colour: 'TEAL' });
      assert.equal(fake.count(), 1);
    } finally {
      await k.close();
    }
  });

  test('the llm placeholder in defaultRunners() does not shadow the bound llm runner', async () => {
    fake.reset();
    fake.push({ json: { colour: 'ochre' } });
    const k = await openKingdom({ engine: { runners: [...defaultRunners(), shout] } });
    try {
      const s = await run(k, BOTH);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { colour: 'OCHRE' });
      assert.equal(fake.count(), 1);
    } finally {
      await k.close();
    }
  });

  test('a custom runner named like a default replaces it', async () => {
    const transform: Runner = { ...shout, name: 'transform', execute: () => Promise.resolve('mine') };
    const k = await openKingdom({ engine: { runners: [transform] } });
    try {
      const s = await run(k, `
name: replaced
version: 1.0.0
steps:
  - id: t
    type: task
    runner: transform
    with: { value: theirs }
outputs:
  v: "{{ steps.t.output }}"
`);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { v: 'mine' });
    } finally {
      await k.close();
    }
  });
});

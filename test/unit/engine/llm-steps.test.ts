/**
 * LLM steps through the engine against the fake OpenAI server (real HTTP on 127.0.0.1):
 * - a finished llm step is never sent to the model again, across engine stop + restart on a file
 *   database (replay resumes from the log);
 * - an llm step in flight when the engine stops runs again with the same attempt, hence the same
 *   Idempotency-Key, and then never again;
 * - an answer that does not match the outputSchema is retried in the conversation with feedback,
 *   and after the last try the step — and the session — fail with the typed `invalid_output`
 *   (not retryable: the step's retry policy does not repeat it).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { Harness, START, until, type SessionView } from './sessions/helpers.ts';

let fake: FakeLlmServer;
let dir: string;
before(async () => {
  fake = await startFakeOpenAI();
  dir = mkdtempSync(join(tmpdir(), 'kingdom-llm-steps-'));
});
after(async () => {
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
});

const openLlm = (options: { file?: string; clock?: ManualClock; configure?: boolean } = {}): Promise<Harness> => Harness.withModels(fake.url, options);
const settled = (h: Harness, id: string): Promise<SessionView> => h.ended(id, { rounds: 100 });

const RESUME = `
name: llm_resume
version: 1.0.0
inputs:
  topic: { type: string, default: caching }
steps:
  - id: ask
    type: llm
    model: fake-model
    prompt: "One sentence on {{ inputs.topic }}."
    outputSchema: { type: object, required: [sentence], properties: { sentence: { type: string } } }
  - id: pause
    type: wait
    dependsOn: [ask]
    duration: 1h
  - id: use
    type: task
    runner: transform
    dependsOn: [pause]
    with: { value: "{{ steps.ask.output.json.sentence }}" }
outputs:
  sentence: "{{ steps.use.output }}"
`;

describe('llm steps: replay and resume', () => {
  test('a finished llm step is never sent again: engine stop + restart on a file database', async () => {
    const file = join(dir, 'resume.db');
    const clock = new ManualClock(START);
    fake.reset();
    fake.push({ json: { sentence: 'Cache the hot path.' } });
    let h = await openLlm({ file, clock });
    const id = h.start(RESUME);
    await h.settle();
    await until(() => h.get(id).steps.some((s) => s.key === 'pause' && s.status === 'waiting'), 'the wait');
    assert.equal(fake.count(), 1);
    await h.close();

    h = await openLlm({ file, clock, configure: false });
    try {
      await h.settle();
      assert.equal(fake.count(), 1, 'reopening does not call the model');
      await h.advance(60 * 60 * 1000);
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { sentence: 'Cache the hot path.' });
      assert.equal(fake.count(), 1, 'the finished step was replayed from the log, not re-run');
      assert.deepEqual(h.stepEvents(id, 'ask'), ['step.scheduled', 'step.started', 'step.succeeded']);
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
    // And once more: a finished session costs nothing on open.
    h = await openLlm({ file, clock, configure: false });
    await h.settle();
    assert.equal(fake.count(), 1);
    await h.close();
  });

  test('an llm step in flight at stop runs again with the same Idempotency-Key, then never again', async () => {
    const file = join(dir, 'inflight.db');
    const clock = new ManualClock(START);
    fake.reset();
    fake.push({ json: { sentence: 'never recorded' }, delayMs: 5_000 }, { json: { sentence: 'Second time lucky.' } });
    let h = await openLlm({ file, clock });
    const id = h.start(RESUME, { topic: 'retries' });
    await until(() => fake.count() === 1, 'the first request');
    await new Promise((r) => setTimeout(r, 20));
    await h.close(); // the engine aborts the request without recording anything

    h = await openLlm({ file, clock, configure: false });
    try {
      await until(() => h.get(id).steps.some((s) => s.key === 'pause' && s.status === 'waiting'), 'the re-run to finish', 2000);
      assert.equal(fake.count(), 2);
      const [a, b] = fake.requests.map((r) => r.headers['idempotency-key']);
      assert.ok(typeof a === 'string' && a.endsWith('/ask/1'), `key ${String(a)}`);
      assert.equal(b, a, 'same attempt, same key');
      assert.equal(h.step(id, 'ask').attempt, 1);
      await h.advance(60 * 60 * 1000);
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded');
      assert.deepEqual(s.output, { sentence: 'Second time lucky.' });
      assert.equal(fake.count(), 2);
    } finally {
      await h.close();
    }
  });
});

describe('llm steps: structured output', () => {
  const STRICT = `
name: llm_strict
version: 1.0.0
steps:
  - id: classify
    type: llm
    model: fake-model
    prompt: Classify the ticket.
    outputSchema:
      type: object
      required: [label, confidence]
      properties:
        label: { type: string, enum: [bug, feature] }
        confidence: { type: number, minimum: 0, maximum: 1 }
    retry: { maxAttempts: 3, initialDelay: 1s }
outputs:
  label: "{{ steps.classify.output.json.label }}"
`;

  test('an invalid answer is retried with feedback and then fails typed invalid_output, once', async () => {
    const h = await openLlm();
    fake.reset();
    fake.push({ text: 'I think it is a bug.' }, { json: { label: 'bug' } }, { json: { label: 'question', confidence: 2 } });
    try {
      const id = h.start(STRICT);
      const s = await settled(h, id);
      assert.equal(s.status, 'failed');
      assert.equal(s.error?.type, 'invalid_output');
      assert.equal(s.failedStep, 'classify');
      const step = h.step(id, 'classify');
      assert.equal(step.error?.type, 'invalid_output');
      assert.equal(step.error?.details['attempts'], 3);
      assert.equal(step.attempts, 1, 'not retryable: the retry policy does not run it again');
      assert.equal(fake.count(), 3, 'three tries in one attempt, then nothing more');
      const second = (fake.requests[1]!.body as { messages: { role: string; content: string }[] }).messages;
      assert.deepEqual(second.map((m) => m.role), ['user', 'assistant', 'user']);
      assert.equal(second[1]!.content, 'I think it is a bug.');
      assert.match(second[2]!.content, /did not match the schema: .*Reply with JSON only\./);
      const third = (fake.requests[2]!.body as { messages: { content: string }[] }).messages;
      assert.match(third[4]!.content, /confidence/);
      const [k1, k2, k3] = fake.requests.map((r) => r.headers['idempotency-key']);
      assert.deepEqual([k2, k3], [`${k1}/output-2`, `${k1}/output-3`]);
      await h.advance(60_000);
      assert.equal(fake.count(), 3);
    } finally {
      await h.close();
    }
  });

  test('a corrected answer on the second try succeeds, with usage summed over both tries', async () => {
    const h = await openLlm();
    fake.reset();
    fake.push({ json: { label: 'bug' }, usage: { input: 10, output: 3 } }, { json: { label: 'feature', confidence: 0.8 }, usage: { input: 20, output: 5 } });
    try {
      const id = h.start(STRICT);
      const s = await settled(h, id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.deepEqual(s.output, { label: 'feature' });
      const out = h.step(id, 'classify').output as { attempts: number; usage: { inputTokens: number; outputTokens: number }; json: unknown; model: string; provider: string };
      assert.deepEqual([out.attempts, out.usage, out.json, out.provider], [2, { inputTokens: 30, outputTokens: 8 }, { label: 'feature', confidence: 0.8 }, 'fake']);
    } finally {
      await h.close();
    }
  });
});

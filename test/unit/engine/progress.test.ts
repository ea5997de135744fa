/**
 * Live progress: an llm step's tokens stream to watchers while it runs (through the public API of
 * openKingdom), and the final answer, usage and latency are recorded in the step's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKingdom, type StepProgress } from '../../../worker/node/index.ts';
import { startFakeOpenAI } from '../../helpers/fake-openai.ts';

test('tokens of a running llm step reach watchers in order; the answer is recorded once', async () => {
  const fake = await startFakeOpenAI({ script: [{ text: 'Deploy to staging first, then production.', deltas: ['Deploy ', 'to staging ', 'first, ', 'then production.'] }] });
  const k = await openKingdom();
  try {
    const seen: StepProgress[] = [];
    const id = await k.watchProgress((p) => seen.push(p));
    const must = <T>(r: { ok: true; value: T } | { ok: false; error: unknown }): T => {
      if (!r.ok) throw new Error(JSON.stringify(r.error));
      return r.value;
    };
    must(await k.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'p' }));
    const source = 'name: advise\nversion: 1.0.0\nsteps:\n  - { id: plan, type: llm, model: fake-model, prompt: "How should we deploy?" }\n';
    const started = must(await k.command({ type: 'session.start', payload: { source }, idempotencyKey: 's' }));
    const sessionId = (started.value as { sessionId: string }).sessionId;
    let s: { status: string; steps: { key: string; output: { text: string; usage: { outputTokens: number }; latencyMs: number } }[] } | undefined;
    for (let i = 0; i < 500; i++) {
      s = must(await k.query('session.get', { sessionId })) as unknown as typeof s;
      if (s!.status !== 'running') break;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(s!.status, 'succeeded');
    const out = s!.steps.find((x) => x.key === 'plan')!.output;
    assert.equal(out.text, 'Deploy to staging first, then production.');
    assert.equal(typeof out.latencyMs, 'number');
    const tokens = seen.filter((p) => p.sessionId === sessionId && p.step === 'plan');
    assert.deepEqual(tokens.map((p) => p.text).join(''), out.text, 'the streamed tokens add up to the recorded answer, in order');
    assert.ok(tokens.length >= 4, `streamed in pieces (${tokens.length})`);
    assert.equal(fake.count(), 1);
    await k.unwatchProgress(id);
  } finally {
    await k.close();
    await fake.close();
  }
});

/**
 * LLM step overhead: everything but the model's time. The same Chat Completions request is sent
 * (a) by a plain fetch to the fake OpenAI-compatible server on 127.0.0.1 (the baseline: the
 * "model time" plus HTTP), and (b) as an `llm` step of a one-step workflow through the kernel and
 * the engine on the durable file VFS (session.start → step started → runner → step succeeded →
 * session succeeded, every transition committed). Overhead = median(b) − median(a); target ≤ 5 ms.
 */
import { join } from 'node:path';
import { openKernel } from '../../../worker/node.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { startFakeOpenAI } from '../../helpers/fake-openai.ts';
import { figure, type Figure } from './scenarios.ts';
import { median, now, round } from './stats.ts';

export const LLM_OVERHEAD_TARGET_MS = 5;

const ANSWER = 'Ship it after the canary has been green for ten minutes.';

export async function benchLlmOverhead(dir: string, calls: number, log: (m: string) => void): Promise<Figure[]> {
  const fake = await startFakeOpenAI({ script: () => ({ text: ANSWER }) });
  const k = await openKernel({ storage: { file: join(dir, 'llm.db') } });
  const engine = Engine.start(k, { onError: (err) => log(`engine error: ${String(err)}`) });
  try {
    k.command({ type: 'llm.provider.set', payload: { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['fake-model'] }, idempotencyKey: 'bench-provider' });
    const source = 'name: llm_overhead\nversion: 1.0.0\ninputs:\n  n: { type: number }\nsteps:\n  - { id: ask, type: llm, model: fake-model, prompt: "Question {{ inputs.n }}: when do we ship?" }\n';
    const raw = async (n: number): Promise<void> => {
      const res = await fetch(`${fake.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `raw-${n}` },
        body: JSON.stringify({ model: 'fake-model', messages: [{ role: 'user', content: `Question ${n}: when do we ship?` }] }),
      });
      await res.json();
    };
    const step = (n: number): Promise<void> => new Promise((resolve, reject) => {
      let id = '';
      const sub = k.subscribe((events) => {
        if (events.some((e) => e.stream === `session:${id}` && (e.type === 'session.succeeded' || e.type === 'session.failed'))) {
          sub.close();
          const status = k.query('session.get', { sessionId: id }) as { status: string };
          if (status.status === 'succeeded') resolve(); else reject(new Error(`session ${id} ${status.status}`));
        }
      });
      id = (k.command({ type: 'session.start', payload: { source, inputs: { n } }, idempotencyKey: `bench-${n}` }).value as { sessionId: string }).sessionId;
    });
    for (let i = 0; i < 20; i++) { await raw(-i); await step(-i - 1); } // warm up both paths
    const rawMs: number[] = [];
    const stepMs: number[] = [];
    for (let i = 0; i < calls; i++) {
      let t = now();
      await raw(i);
      rawMs.push(now() - t);
      t = now();
      await step(i);
      stepMs.push(now() - t);
    }
    const overhead = median(stepMs) - median(rawMs);
    log(`llm-overhead: step ${round(median(stepMs))} ms, raw fetch ${round(median(rawMs))} ms → overhead ${round(overhead)} ms over ${calls} calls`);
    return [figure({
      id: 'llm-overhead', storage: 'node-file', title: `llm step overhead (engine + kernel, everything but the model), median of ${calls}`, unit: 'ms',
      kernel: round(overhead), baseline: round(median(rawMs)), baselineName: 'raw fetch of the same request to the same fake server',
      target: { on: 'kernel', op: '<=', value: LLM_OVERHEAD_TARGET_MS },
      samples: { kernel: stepMs.map((x) => round(x)), baseline: rawMs.map((x) => round(x)) },
      extra: { stepMedianMs: round(median(stepMs)), requests: fake.count() },
    })];
  } finally {
    engine.stop();
    await k.close();
    await fake.close();
  }
}

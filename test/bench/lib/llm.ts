/**
 * LLM step overhead: everything but the model's time. The same Chat Completions request is sent
 * (a) by a plain fetch to the fake OpenAI-compatible server on 127.0.0.1 (the baseline: the
 * "model time" plus HTTP), and (b) as an `llm` step of a one-step workflow through the kernel and
 * the engine on the durable file VFS (session.start → step started → runner → step succeeded →
 * session succeeded, every transition committed). Overhead = median(b) − median(a); target ≤ 5 ms.
 *
 * Agent turn overhead: an `agent` step of three turns (two forest_search tool calls, then the
 * answer) against (a') three plain fetches of requests of the same shape. Every turn and every
 * observation is committed before the loop goes on, so this prices the durable loop per turn:
 * (median(agent) − median(3 fetches)) / 3, against the same 5 ms target as one llm call.
 */
import { join } from 'node:path';
import { openKernel } from '../../../worker/node/index.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { startFakeOpenAI } from '../../helpers/fake-openai.ts';
import { figure, type Figure } from './scenarios.ts';
import { median, now, round } from './stats.ts';

export const LLM_OVERHEAD_TARGET_MS = 5;

const ANSWER = 'Ship it after the canary has been green for ten minutes.';

export async function benchLlmOverhead(dir: string, calls: number, log: (m: string) => void): Promise<Figure[]> {
  // A request with tools is an agent turn: call forest_search until two results came back, then answer.
  const fake = await startFakeOpenAI({
    script: (req) => {
      const body = req.body as { tools?: unknown[]; messages?: { role: string }[] };
      const results = (body.messages ?? []).filter((m) => m.role === 'tool').length;
      return body.tools && results < 2 ? { toolCalls: [{ name: 'forest_search', arguments: { query: `canary ${results}` } }] } : { text: ANSWER };
    },
  });
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
    const step = (n: number): Promise<void> => untilEnded(k, (k.command({ type: 'session.start', payload: { source, inputs: { n } }, idempotencyKey: `bench-${n}` }).value as { sessionId: string }).sessionId);
    const { rawMs, subjectMs: stepMs } = await alternate(calls, 20, raw, step);
    const agent = await agentTurns(k, fake.url, Math.max(10, Math.floor(calls / 4)));
    const overhead = median(stepMs) - median(rawMs);
    log(`llm-overhead: step ${round(median(stepMs))} ms, raw fetch ${round(median(rawMs))} ms → overhead ${round(overhead)} ms over ${calls} calls`);
    return [figure({
      id: 'llm-overhead', storage: 'node-file', title: `llm step overhead (engine + kernel, everything but the model), median of ${calls}`, unit: 'ms',
      kernel: round(overhead), baseline: round(median(rawMs)), baselineName: 'raw fetch of the same request to the same fake server',
      target: { on: 'kernel', op: '<=', value: LLM_OVERHEAD_TARGET_MS },
      samples: { kernel: stepMs.map((x) => round(x)), baseline: rawMs.map((x) => round(x)) },
      extra: { stepMedianMs: round(median(stepMs)), requests: fake.count() },
    }), agent];
  } finally {
    engine.stop();
    await k.close();
    await fake.close();
  }
}

/** Agent steps of three turns vs three raw fetches of the same shape; the figure is the overhead per turn. */
async function agentTurns(k: Kernel, url: string, runs: number): Promise<Figure> {
  const source = 'name: agent_overhead\nversion: 1.0.0\ninputs:\n  n: { type: number }\nsteps:\n  - { id: ask, type: agent, model: fake-model, tools: [forest.search], maxTurns: 4, prompt: "Question {{ inputs.n }}: when do we ship?" }\n';
  const tools = [{ type: 'function', function: { name: 'forest_search', description: 'search', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
  const raw = async (n: number): Promise<void> => {
    const messages: unknown[] = [{ role: 'user', content: `Question ${n}: when do we ship?` }];
    for (let turn = 0; turn < 3; turn++) {
      const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `raw-agent-${n}-${turn}` }, body: JSON.stringify({ model: 'fake-model', messages, tools }) });
      const body = await res.json() as { choices: { message: { tool_calls?: { id: string }[] } }[] };
      const msg = body.choices[0]!.message;
      messages.push(msg);
      for (const c of msg.tool_calls ?? []) messages.push({ role: 'tool', tool_call_id: c.id, content: '0 matches.' });
    }
  };
  const run = (n: number): Promise<void> => untilEnded(k, (k.command({ type: 'session.start', payload: { source, inputs: { n } }, idempotencyKey: `bench-agent-${n}` }).value as { sessionId: string }).sessionId);
  const { rawMs, subjectMs: agentMs } = await alternate(runs, 5, raw, run);
  const perTurn = (median(agentMs) - median(rawMs)) / 3;
  return figure({
    id: 'agent-turn-overhead', storage: 'node-file', title: `agent loop overhead per turn (3 turns, 2 tool calls, all committed), median of ${runs}`, unit: 'ms',
    kernel: round(perTurn), baseline: round(median(rawMs)), baselineName: 'three raw fetches of the same conversation to the same fake server',
    target: { on: 'kernel', op: '<=', value: LLM_OVERHEAD_TARGET_MS },
    samples: { kernel: agentMs.map((x) => round(x)), baseline: rawMs.map((x) => round(x)) },
    extra: { agentMedianMs: round(median(agentMs)) },
  });
}

/** Warm both paths up, then time them alternately (same conditions for each pair of samples). */
async function alternate(runs: number, warmup: number, raw: (n: number) => Promise<void>, subject: (n: number) => Promise<void>): Promise<{ rawMs: number[]; subjectMs: number[] }> {
  for (let i = 0; i < warmup; i++) { await raw(-i); await subject(-i - 1); }
  const rawMs: number[] = [];
  const subjectMs: number[] = [];
  for (let i = 0; i < runs; i++) {
    let t = now();
    await raw(i);
    rawMs.push(now() - t);
    t = now();
    await subject(i);
    subjectMs.push(now() - t);
  }
  return { rawMs, subjectMs };
}

/** Resolves when the session ends (rejects when it did not succeed). */
function untilEnded(k: Kernel, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const s = (k.query('session.get', { sessionId: id }) as { status: string }).status;
      if (s === 'running' || s === 'paused') return false;
      sub.close();
      if (s === 'succeeded') resolve(); else reject(new Error(`session ${id} ${s}`));
      return true;
    };
    const sub = k.subscribe((events) => { if (events.some((e) => e.stream === `session:${id}` && e.type.startsWith('session.'))) check(); });
    check();
  });
}

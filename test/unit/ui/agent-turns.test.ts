/**
 * An agent step's journal as a conversation (src/lib/sessions-agent.ts): turns in order, each tool
 * call with its observation, final answers, calls still running, and the clamped observation text.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentSummary, agentTurns, clampText, journalOf, LONG_ARGS, turnMeta, type JournalRecord } from '../../../src/lib/sessions-agent.ts';
import type { StepState } from '../../../src/lib/workflows/types.ts';
import type { Json } from '../../../worker/api.ts';

const T0 = 1_700_000_000_000;

function turn(n: number, calls: { id: string; name: string; input: Json }[], text = '', at = T0 + n * 1000): JournalRecord {
  return {
    type: 'agent.turn', at,
    payload: { step: 'agent', attempt: 1, turn: n, text, toolCalls: calls, usage: { inputTokens: 100 * n, outputTokens: 10 * n }, latencyMs: 200 * n, finishReason: calls.length > 0 ? 'tool_calls' : 'stop', model: 'fake-model', provider: 'fake' },
  };
}

function obs(n: number, callId: string, tool: string, content: string, extra: { [k: string]: Json } = {}): JournalRecord {
  return { type: 'agent.observation', at: T0 + n * 1000 + 500, payload: { step: 'agent', attempt: 1, turn: n, callId, tool, ok: true, content, durationMs: 42, ...extra } };
}

const SEARCH = { id: 'c1', name: 'forest_search', input: { query: 'deploy' } };
const WRITE = { id: 'c2', name: 'forest_write', input: { title: 'Deploy notes' } };
const FINAL = { id: 'c3', name: 'final_answer', input: { summary: 'done' } };

const FULL: JournalRecord[] = [
  turn(1, [SEARCH], 'Let me look first.'),
  obs(1, 'c1', 'forest_search', '0 matches.\nNo matching nodes.'),
  turn(2, [WRITE]),
  obs(2, 'c2', 'forest_write', '{"nodeId":"n1"}', { wrote: ['n1'] }),
  turn(3, [FINAL]),
];

test('a finished loop: three turns, each call with its observation, the final answer accepted', () => {
  const turns = agentTurns(FULL, 'succeeded');
  assert.deepEqual(turns.map((t) => t.turn), [1, 2, 3]);
  assert.equal(turns[0]!.text, 'Let me look first.');
  const [search] = turns[0]!.calls;
  assert.equal(search!.name, 'forest_search');
  assert.equal(search!.args, '{"query":"deploy"}');
  assert.equal(search!.state, 'done');
  assert.equal(search!.observation?.content, '0 matches.\nNo matching nodes.');
  assert.equal(search!.observation?.durationMs, 42);
  assert.equal(search!.observation?.ok, true);
  assert.equal(turns[1]!.calls[0]!.observation?.content, '{"nodeId":"n1"}');
  const final = turns[2]!.calls[0]!;
  assert.equal(final.final, true);
  assert.equal(final.state, 'answer');
  assert.equal(final.accepted, true);
  assert.equal(final.observation, undefined);
  assert.equal(turns[2]!.inputTokens, 300);
  assert.equal(turns[2]!.outputTokens, 30);
  assert.equal(turns[2]!.latencyMs, 600);
  assert.equal(turns[2]!.model, 'fake-model');
  assert.deepEqual(agentSummary(turns), { turns: 3, toolCalls: 2, inputTokens: 600, outputTokens: 60, latencyMs: 1200 });
});

test('a running step: the first call without an observation is running, later ones queued', () => {
  const j = [turn(1, [SEARCH, WRITE, { id: 'c9', name: 'forest_search', input: { query: 'x' } }]), obs(1, 'c1', 'forest_search', 'ok')];
  const calls = agentTurns(j, 'running')[0]!.calls;
  assert.deepEqual(calls.map((c) => c.state), ['done', 'running', 'queued']);
  // The same journal after the attempt failed: the calls never ran.
  assert.deepEqual(agentTurns(j, 'failed')[0]!.calls.map((c) => c.state), ['done', 'not-run', 'not-run']);
});

test('final answers: rejected when a later turn followed, undecided while running, rejected when the step failed', () => {
  const j = [turn(1, [FINAL]), turn(2, [{ ...FINAL, id: 'c4' }])];
  assert.equal(agentTurns(j, 'succeeded')[0]!.calls[0]!.accepted, false);
  assert.equal(agentTurns(j, 'succeeded')[1]!.calls[0]!.accepted, true);
  assert.equal(agentTurns(j, 'running')[1]!.calls[0]!.accepted, undefined);
  assert.equal(agentTurns(j, 'failed')[1]!.calls[0]!.accepted, false);
});

test('a final_answer call with an observation (no outputSchema: an unknown tool) is an ordinary call', () => {
  const j = [turn(1, [FINAL]), obs(1, 'c3', 'final_answer', 'Error (unknown_tool): there is no tool named final_answer', { ok: false, error: { type: 'unknown_tool', message: 'no such tool', retryable: false, details: {} } })];
  const c = agentTurns(j, 'running')[0]!.calls[0]!;
  assert.equal(c.final, false);
  assert.equal(c.state, 'done');
  assert.equal(c.observation?.ok, false);
  assert.deepEqual(c.observation?.error, { type: 'unknown_tool', message: 'no such tool' });
});

test('observations match their own turn: the same call id in two turns', () => {
  const j = [turn(1, [SEARCH]), obs(1, 'c1', 'forest_search', 'first'), turn(2, [SEARCH]), obs(2, 'c1', 'forest_search', 'second', { truncated: true })];
  const turns = agentTurns(j, 'running');
  assert.equal(turns[0]!.calls[0]!.observation?.content, 'first');
  assert.equal(turns[1]!.calls[0]!.observation?.content, 'second');
  assert.equal(turns[1]!.calls[0]!.observation?.truncated, true);
  assert.equal(turns[0]!.calls[0]!.observation?.truncated, false);
});

test('an observation of no recorded call is kept, not dropped', () => {
  const turns = agentTurns([turn(1, []), obs(1, 'ghost', 'http_request', 'x'), obs(4, 'lost', 'forest_search', 'y')], 'running');
  assert.deepEqual(turns.map((t) => t.turn), [1, 4]);
  assert.equal(turns[0]!.calls[0]!.name, 'http_request');
  assert.equal(turns[1]!.calls[0]!.observation?.content, 'y');
});

test('long arguments are marked long; text-only turns have no calls', () => {
  const long = { id: 'c5', name: 'forest_write', input: { title: 't', body: 'b'.repeat(LONG_ARGS) } };
  const turns = agentTurns([turn(1, [long]), turn(2, [], 'The answer.')], 'succeeded');
  assert.equal(turns[0]!.calls[0]!.long, true);
  assert.equal(turns[1]!.calls.length, 0);
  assert.equal(turns[1]!.text, 'The answer.');
});

test('journalOf tolerates a missing or malformed journal', () => {
  const base: StepState = { key: 'a', status: 'running', attempt: 1, attempts: 1, history: [] };
  assert.deepEqual(journalOf(base), []);
  assert.deepEqual(journalOf({ ...base, journal: 'nope' } as unknown as StepState), []);
  const bad = { ...base, journal: [null, { type: 'other', payload: {} }, { type: 'agent.turn' }, FULL[0]] } as unknown as StepState;
  assert.deepEqual(journalOf(bad), [FULL[0]]);
  // Malformed payload fields fall back instead of throwing.
  const odd: JournalRecord = { type: 'agent.turn', at: T0, payload: { toolCalls: [{ id: 'x' }, 7] } };
  const t = agentTurns([odd], 'running');
  assert.equal(t[0]!.turn, 1);
  assert.equal(t[0]!.calls.length, 1);
  assert.equal(t[0]!.calls[0]!.name, '?');
  assert.equal(t[0]!.calls[0]!.args, 'null');
});

test('clampText cuts by lines and by characters', () => {
  assert.deepEqual(clampText('a\nb', 12, 100), { text: 'a\nb', clamped: false, lines: 2 });
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n');
  const c = clampText(lines, 3, 1000);
  assert.equal(c.text, 'line 0\nline 1\nline 2');
  assert.equal(c.clamped, true);
  assert.equal(c.lines, 20);
  const chars = clampText('x'.repeat(50), 12, 10);
  assert.equal(chars.text, 'x'.repeat(10));
  assert.equal(chars.clamped, true);
});

test('turnMeta: tokens, latency, model (provider), finish reason; empty parts left out', () => {
  const [t] = agentTurns([turn(1, [SEARCH])], 'running');
  assert.equal(turnMeta(t!, (ms) => `${ms} ms`), '100 in / 10 out tokens · 200 ms · fake-model (fake) · tool_calls');
  assert.equal(turnMeta({ ...t!, provider: '', finishReason: '' }, (ms) => `${ms} ms`), '100 in / 10 out tokens · 200 ms · fake-model');
});

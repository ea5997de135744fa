/**
 * Session statuses in words (src/lib/workflows/status-words.ts): what is happening, from the state
 * the page already has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sessionWords, stepWords, summaryWords, until } from '../../../src/lib/workflows/status-words.ts';
import type { SessionState, StepState } from '../../../src/lib/workflows/types.ts';

const NOW = 1_700_000_000_000;
const step = (key: string, init: Partial<StepState> = {}): StepState => ({ key, status: 'pending', attempt: 0, attempts: 0, history: [], ...init });
const state = (steps: StepState[], init: Partial<Pick<SessionState, 'status' | 'paused'>> = {}) =>
  ({ status: 'running' as const, paused: false, ...init, steps: Object.fromEntries(steps.map((s) => [s.key, s])) });
const label = (steps: StepState[], init?: Partial<Pick<SessionState, 'status' | 'paused'>>) => sessionWords(state(steps, init), NOW).label;

test('an approval pending: waiting for you (before anything else running)', () => {
  const approval = { prompt: 'Ship?', approvers: [] };
  assert.equal(label([step('sign_off', { status: 'waiting', approval }), step('build', { status: 'running' })]), 'waiting for you');
  assert.equal(sessionWords(state([step('sign_off', { status: 'waiting', approval })]), NOW).tone, 'waiting');
  // Decided: no longer waits for anyone.
  assert.equal(label([step('sign_off', { status: 'waiting', approval: { ...approval, decided: { approved: true, comment: '', by: 'me', at: NOW } } })]), 'running');
});

test('a retry timer counts down; running steps are named', () => {
  assert.equal(label([step('fetch', { status: 'retrying', dueAt: NOW + 12_000 })]), 'retrying fetch in 12 s');
  assert.equal(label([step('fetch', { status: 'retrying', dueAt: NOW - 5 })]), 'retrying fetch in 0 s');
  assert.equal(label([step('build', { status: 'running' })]), 'running step build');
  assert.equal(label([step('b', { status: 'running' }), step('a', { status: 'running' }), step('c', { status: 'running' })]), 'running step a and 2 more');
  assert.equal(label([step('nap', { status: 'waiting', dueAt: NOW + 180_000 })]), 'waiting 3 min (nap)');
  assert.equal(label([step('sub', { status: 'waiting', child: { sessionId: 'x', workflow: 'child' } })]), 'waiting for a child session (sub)');
  assert.equal(label([step('next', { status: 'scheduled' })]), 'running');
});

test('paused and ended sessions say so, whatever their steps do', () => {
  const approval = { prompt: 'Ship?', approvers: [] };
  assert.equal(label([step('sign_off', { status: 'waiting', approval })], { status: 'paused', paused: true }), 'paused');
  assert.equal(label([step('build', { status: 'running' })], { paused: true }), 'paused');
  for (const s of ['succeeded', 'failed', 'cancelled'] as const) assert.equal(label([step('x', { status: 'running' })], { status: s }), s);
});

test('list rows: waiting for you when an approval waits, else the status', () => {
  assert.equal(summaryWords({ status: 'running', waiting: 1 }).label, 'waiting for you');
  assert.equal(summaryWords({ status: 'running', waiting: 0 }).label, 'running');
  assert.equal(summaryWords({ status: 'paused', waiting: 1 }).label, 'paused');
  assert.equal(summaryWords({ status: 'cancelled', waiting: 1 }).label, 'cancelled');
  assert.equal(until(NOW + 1, NOW), '1 s');
});

test('a step in words (the session canvas): done, retrying in 12 s, waiting for you, not run', () => {
  assert.deepEqual(stepWords(step('a', { status: 'succeeded' }), NOW), { label: 'done', tone: 'succeeded' });
  assert.equal(stepWords(step('a', { status: 'retrying', dueAt: NOW + 12_000 }), NOW).label, 'retrying in 12 s');
  assert.equal(stepWords(step('a', { status: 'waiting', approval: { prompt: 'Ship?', approvers: [] } }), NOW).label, 'waiting for you');
  assert.equal(stepWords(step('a', { status: 'waiting', dueAt: NOW + 180_000 }), NOW).label, 'waiting 3 min');
  assert.equal(stepWords(step('a', { status: 'running' }), NOW).label, 'running');
  assert.equal(stepWords(step('a', { status: 'skipped' }), NOW).label, 'skipped');
  assert.deepEqual(stepWords(undefined, NOW), { label: 'not run', tone: 'pending' });
});

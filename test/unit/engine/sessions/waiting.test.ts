/**
 * The sessions projection's `waiting` counter (approvals pending, what "waiting for you" and the
 * `status: 'waiting'` filter of session.list read) follows the steps: it is lowered when a waiting
 * approval ends without a decision (timeout), is rerouted by onFailure, cancelled or retried, and
 * it equals the count of undecided approvals after a rebuild.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from './helpers.ts';

const HOUR = 3_600_000;

const REROUTED = `
name: sign
version: 1.0.0
steps:
  - id: sign_off
    type: approval
    prompt: "Ship it?"
    timeout: 1h
    onTimeout: reject
    onFailure: { goto: sign_off, maxLoops: 1 }
`;

const ONCE = `
name: sign_once
version: 1.0.0
steps:
  - id: sign_off
    type: approval
    prompt: "Ship it?"
    timeout: 1h
    onTimeout: reject
`;

function waiting(h: Harness, id: string): number {
  const rows = h.k.query('session.list', { limit: 100 }) as { id: string; waiting: number }[];
  const row = rows.find((r) => r.id === id);
  assert.ok(row, `session ${id} listed`);
  return row.waiting;
}

function listedAsWaiting(h: Harness, id: string): boolean {
  return (h.k.query('session.list', { status: 'waiting', limit: 100 }) as { id: string }[]).some((r) => r.id === id);
}

function rebuiltWaiting(h: Harness, id: string): number {
  h.k.rebuild(['sessions']);
  return waiting(h, id);
}

test('waiting: an approval that timed out and is rerouted counts once, and not at all once approved', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(REROUTED);
    await h.settle();
    assert.equal(waiting(h, id), 1);
    await h.advance(HOUR);
    await h.settle();
    // Rerouted by onFailure: the step waits for a person again — one approval pending, not two.
    assert.deepEqual(h.stepEvents(id, 'sign_off'), ['step.scheduled', 'step.started', 'step.failed', 'step.rerouted', 'step.scheduled', 'step.started']);
    assert.equal(h.step(id, 'sign_off').status, 'waiting');
    assert.equal(waiting(h, id), 1);
    h.cmd('session.approve', { sessionId: id, step: 'sign_off', comment: 'ok' });
    await h.settle();
    assert.equal(h.get(id).status, 'succeeded');
    assert.equal(waiting(h, id), 0);
    assert.equal(listedAsWaiting(h, id), false);
    assert.equal(rebuiltWaiting(h, id), 0);
  } finally {
    await h.close();
  }
});

test('waiting: a session failed by an approval timeout, then retried, waits for one approval', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(ONCE);
    await h.settle();
    await h.advance(HOUR);
    await h.settle();
    assert.equal(h.get(id).status, 'failed');
    assert.equal(waiting(h, id), 0, 'nobody is asked anything in a failed session');
    h.cmd('session.retry', { sessionId: id });
    await h.settle();
    assert.equal(h.step(id, 'sign_off').status, 'waiting');
    assert.equal(waiting(h, id), 1);
    h.cmd('session.approve', { sessionId: id, step: 'sign_off' });
    await h.settle();
    assert.equal(h.get(id).status, 'succeeded');
    assert.equal(waiting(h, id), 0);
    assert.equal(rebuiltWaiting(h, id), 0);
  } finally {
    await h.close();
  }
});

test('waiting: cancelling a session waiting for a person, then retrying it, leaves one approval pending', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(ONCE);
    await h.settle();
    assert.equal(listedAsWaiting(h, id), true);
    h.cmd('session.cancel', { sessionId: id });
    await h.settle();
    assert.equal(waiting(h, id), 0);
    h.cmd('session.retry', { sessionId: id });
    await h.settle();
    assert.equal(waiting(h, id), 1);
    assert.equal(rebuiltWaiting(h, id), 1);
    h.cmd('session.approve', { sessionId: id, step: 'sign_off' });
    await h.settle();
    assert.equal(waiting(h, id), 0);
  } finally {
    await h.close();
  }
});

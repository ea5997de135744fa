/**
 * Time under a ManualClock: waits (durable across a reopen), approvals, retries with backoff and
 * step timeouts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, START, until } from './helpers.ts';
import { ManualClock } from '../../../../worker/engine/clock.ts';
import { withTempDir } from '../../../helpers/kernel.ts';

const HOUR = 3_600_000;

test('wait duration and wait until fire only when the clock gets there; the due time survives a reopen', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'k.sqlite');
    const clock = new ManualClock(START);
    let h = await Harness.open({ file, clock });
    let id: string;
    try {
      id = h.start(`
name: cool_down
version: 1.0.0
inputs:
  at: { type: string, required: true }
steps:
  - { id: pause, type: wait, duration: 1h30m }
  - { id: until, type: wait, dependsOn: [pause], until: "{{ inputs.at }}" }
  - { id: done, type: task, runner: transform, dependsOn: [until], with: { value: "{{ steps.until.output.until }}" } }
outputs: { done: "{{ steps.done.output }}" }
`, { at: new Date(START + 3 * HOUR).toISOString() });
      await h.settle();
      assert.equal(h.step(id, 'pause').status, 'waiting');
      assert.equal(h.step(id, 'pause').dueAt, START + 1.5 * HOUR);
      await h.advance(HOUR);
      await h.settle();
      assert.equal(h.step(id, 'pause').status, 'waiting');
    } finally {
      await h.close();
    }
    // Time passes while the app is closed: the reopened engine fires the timer at once.
    clock.advance(HOUR);
    h = await Harness.open({ file, clock });
    try {
      await until(() => h.get(id).steps.some((x) => x.key === 'until'), 'pause fired after reopen');
      await h.settle();
      assert.equal(h.step(id, 'pause').status, 'succeeded');
      assert.equal(h.step(id, 'until').status, 'waiting');
      assert.equal(h.step(id, 'until').dueAt, START + 3 * HOUR);
      assert.equal(h.get(id).status, 'running');
      await h.advance(HOUR - 1);
      await h.settle();
      assert.equal(h.step(id, 'until').status, 'waiting');
      await h.advance(1);
      await h.settle();
      const s = h.get(id);
      assert.equal(s.status, 'succeeded');
      assert.deepEqual(s.output, { done: new Date(START + 3 * HOUR).toISOString() });
      assert.deepEqual(h.stepEvents(id, 'until'), ['step.scheduled', 'step.started', 'step.succeeded']);
    } finally {
      await h.close();
    }
  });
});

const APPROVAL = `
name: release
version: 1.0.0
steps:
  - id: sign_off
    type: approval
    prompt: "Ship it?"
    timeout: 2d
    onTimeout: reject
  - id: ship
    type: task
    runner: transform
    dependsOn: [sign_off]
    with: { value: "{{ steps.sign_off.output.comment }}" }
outputs: { note: "{{ steps.ship.output }}" }
`;

test('approval: approve continues with the comment; reject fails with approval_rejected', async () => {
  const h = await Harness.open();
  try {
    const a = h.start(APPROVAL);
    const r = h.start(APPROVAL);
    await h.settle();
    assert.equal(h.step(a, 'sign_off').status, 'waiting');
    h.cmd('session.approve', { sessionId: a, step: 'sign_off', comment: 'lgtm' });
    h.cmd('session.reject', { sessionId: r, step: 'sign_off', comment: 'not today' });
    await h.settle();
    assert.equal(h.get(a).status, 'succeeded');
    assert.deepEqual(h.get(a).output, { note: 'lgtm' });
    assert.deepEqual(h.step(a, 'sign_off').output, { approved: true, by: 'user', comment: 'lgtm', at: new Date(START).toISOString() });
    const rej = h.get(r);
    assert.equal(rej.status, 'failed');
    assert.equal(rej.error?.type, 'approval_rejected');
    assert.equal(rej.failedStep, 'sign_off');
    assert.match(rej.error!.message, /not today/);
    assert.deepEqual(h.events(r), ['session.started', 'step.scheduled sign_off', 'step.started sign_off', 'approval.decided sign_off', 'step.failed sign_off', 'session.failed sign_off']);
    assert.throws(() => h.cmd('session.approve', { sessionId: a, step: 'sign_off' }), /already succeeded|not waiting/);
  } finally {
    await h.close();
  }
});

test('approval: nobody answering before the timeout rejects with approval_timeout', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(APPROVAL);
    await h.settle();
    await h.advance(2 * 24 * HOUR - 1);
    await h.settle();
    assert.equal(h.get(id).status, 'running');
    await h.advance(1);
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'failed');
    assert.equal(s.error?.type, 'approval_timeout');
    assert.equal(h.get(id).steps.find((x) => x.key === 'ship'), undefined);
  } finally {
    await h.close();
  }
});

test('retry: exponential backoff capped by maxDelay; flaky succeeds on the 3rd attempt', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: flaky
version: 1.0.0
steps:
  - id: call
    type: task
    runner: demo.flaky
    with: { failTimes: 2, value: ok }
    retry: { maxAttempts: 5, backoff: exponential, initialDelay: 1s, maxDelay: 1500ms }
  - id: filtered
    type: task
    runner: demo.fail
    dependsOn: [call]
    with: { type: boom, retryable: true }
    retry: { maxAttempts: 5, initialDelay: 1s, retryOn: [flaky] }
`);
    await h.settle();
    assert.deepEqual(h.payloads(id, 'step.retry_scheduled'), [{ step: 'call', attempt: 2, dueAt: START + 1000, delayMs: 1000 }]);
    await h.advance(999);
    await h.settle();
    assert.equal(h.step(id, 'call').attempts, 1);
    await h.advance(1);
    await h.settle();
    assert.equal(h.step(id, 'call').attempts, 2);
    assert.deepEqual(h.payloads(id, 'step.retry_scheduled')[1], { step: 'call', attempt: 3, dueAt: START + 2500, delayMs: 1500 });
    await h.advance(1500);
    await h.settle();
    const call = h.step(id, 'call');
    assert.equal(call.status, 'succeeded');
    assert.equal(call.attempts, 3);
    assert.deepEqual(call.output, { attempt: 3, value: 'ok' });
    assert.deepEqual(h.stepEvents(id, 'call'), ['step.scheduled', 'step.started', 'step.failed', 'step.retry_scheduled', 'step.started', 'step.failed', 'step.retry_scheduled', 'step.started', 'step.succeeded']);
    // retryOn: [flaky] does not retry a `boom`.
    const f = h.step(id, 'filtered');
    assert.equal(f.status, 'failed');
    assert.equal(f.attempts, 1);
    assert.equal(h.get(id).status, 'failed');
    assert.equal(h.get(id).error?.type, 'boom');
  } finally {
    await h.close();
  }
});

test('timeout: a long attempt is aborted at its deadline and retried; the last timeout fails the session', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: slow
version: 1.0.0
steps:
  - id: t
    type: task
    runner: test.sleep
    with: { ms: 600000 }
    timeout: 1s
    retry: { maxAttempts: 2, backoff: fixed, initialDelay: 500ms }
`);
    await until(() => h.probe.running === 1, 'running');
    await h.advance(1000);
    await h.settle();
    assert.deepEqual(h.probe.aborted, ['t']);
    assert.equal(h.step(id, 't').status, 'retrying');
    assert.equal(h.step(id, 't').error?.type, 'timeout');
    await h.advance(500);
    await until(() => h.probe.running === 1, 'second attempt running');
    assert.equal(h.step(id, 't').attempts, 2);
    await h.advance(1000);
    await h.settle();
    assert.deepEqual(h.probe.aborted, ['t', 't']);
    const s = h.get(id);
    assert.equal(s.status, 'failed');
    assert.equal(s.error?.type, 'timeout');
    assert.deepEqual(h.payloads<{ attempt: number; willRetry: boolean; error: { type: string } }>(id, 'step.failed').map((x) => [x.attempt, x.willRetry, x.error.type]), [[1, true, 'timeout'], [2, false, 'timeout']]);
    assert.equal(h.probe.running, 0);
  } finally {
    await h.close();
  }
});

/**
 * Child workflows, gates with onFailure routes, hooks, pause/resume and cancel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, until } from './helpers.ts';
import { startEffectServer } from '../../../helpers/effect-server.ts';

const CHILD_OK = `
name: child
version: 1.0.0
inputs:
  who: { type: string, required: true }
steps:
  - { id: hello, type: task, runner: transform, with: { value: "hi {{ inputs.who }}" } }
outputs: { text: "{{ steps.hello.output }}" }
`;
const CHILD_FAIL = `
name: child_bad
version: 1.0.0
steps:
  - { id: boom, type: task, runner: demo.fail, with: { type: kaboom, message: broke } }
`;
const CHILD_SLOW = `
name: child_slow
version: 1.0.0
steps:
  - { id: nap, type: task, runner: test.sleep, with: { ms: 100000 } }
`;

test('child workflow: the child output becomes the step output; a failed child fails the step', async () => {
  const h = await Harness.open();
  try {
    h.cmd('workflow.save', { source: CHILD_OK });
    h.cmd('workflow.save', { source: CHILD_FAIL });
    const id = h.start(`
name: parent
version: 1.0.0
steps:
  - { id: call, type: workflow, workflow: child@1.0.0, inputs: { who: ada } }
outputs: { got: "{{ steps.call.output.text }}" }
`);
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
    assert.deepEqual(s.output, { got: 'hi ada' });
    const childId = h.step(id, 'call').childId!;
    assert.equal(h.get(childId).parentId, id);
    assert.equal(h.get(childId).status, 'succeeded');

    const bad = h.start(`
name: parent_bad
version: 1.0.0
steps:
  - { id: call, type: workflow, workflow: child_bad }
  - { id: after, type: task, runner: transform, dependsOn: [call], with: { value: x } }
`);
    await h.settle();
    const b = h.get(bad);
    assert.equal(b.status, 'failed');
    assert.equal(b.error?.type, 'child_failed');
    assert.match(b.error!.message, /broke/);
    assert.equal(h.get(h.step(bad, 'call').childId!).status, 'failed');
    assert.equal(b.steps.find((x) => x.key === 'after'), undefined);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

const GATE = (need: number, maxLoops: number): string => `
name: fix_until_green
version: 1.0.0
steps:
  - id: implement
    type: task
    runner: test.echo
    with: { value: { reasons: "{{ failure.reasons }}", loop: "{{ failure.loop }}" } }
  - id: check
    type: task
    runner: test.count
    dependsOn: [implement]
    with: { value: "{{ steps.implement.output }}" }
    gate:
      - check: output.calls >= ${need}
        reason: "only {{ output.calls }} calls"
    onFailure: { goto: implement, maxLoops: ${maxLoops} }
outputs: { calls: "{{ steps.check.output.calls }}", seen: "{{ steps.check.output.input }}" }
`;

test('gate + onFailure: routes back with failure.reasons until the gate passes', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(GATE(3, 3));
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
    assert.deepEqual(s.output, { calls: 3, seen: { reasons: ['only 2 calls'], loop: 2 } });
    assert.deepEqual(h.payloads<{ loop: number; reasons: string[] }>(id, 'step.rerouted').map((x) => [x.loop, x.reasons]), [[1, ['only 1 calls']], [2, ['only 2 calls']]]);
    assert.equal(h.probe.calls.get('implement'), 3);
    assert.equal(h.step(id, 'check').attempts, 3);
  } finally {
    await h.close();
  }
});

test('gate + onFailure: the session fails when the loops run out', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(GATE(10, 2));
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'failed');
    assert.equal(s.error?.type, 'gate_failed');
    assert.equal(s.failedStep, 'check');
    assert.equal(h.payloads(id, 'step.rerouted').length, 2);
    assert.equal(h.probe.calls.get('check'), 3);
  } finally {
    await h.close();
  }
});

test('hooks: webhooks reach the server; a failing hook does not change the outcome', async () => {
  const server = await startEffectServer();
  const h = await Harness.open();
  try {
    const src = (fail: boolean): string => `
name: hooked
version: 1.0.0
steps:
  - id: work
    type: task
    runner: ${fail ? 'demo.fail' : 'transform'}
    with: { ${fail ? 'message: nope' : 'value: built'} }
    hooks:
      onComplete: { type: webhook, config: { url: "{{ env.base }}/effect/step-done" } }
      onError: { type: webhook, config: { url: "{{ env.base }}/effect/step-error", body: { m: "{{ error.message }}" } } }
hooks:
  onStart: { type: webhook, config: { url: "{{ env.base }}/effect/start", method: POST } }
  onComplete: { type: webhook, config: { url: "{{ env.base }}/status/500" } }
  onError: { type: webhook, config: { url: "{{ env.base }}/effect/session-error", body: { text: "failed: {{ error.message }}" } } }
outputs: { w: "{{ steps.work.output }}" }
`;
    const ok = h.start(src(false), {}, { base: server.url });
    await h.settle();
    assert.equal(h.get(ok).status, 'succeeded');
    assert.deepEqual(h.get(ok).output, { w: 'built' });
    assert.equal(h.step(ok, '@onComplete').status, 'failed');
    assert.equal(h.step(ok, '@onStart').status, 'succeeded');
    assert.deepEqual(Object.fromEntries(server.counts()), { start: 1, 'step-done': 1 });
    assert.deepEqual(h.events(ok).slice(0, 4), ['session.started', 'step.started @onStart', 'step.succeeded @onStart', 'step.scheduled work']);

    const bad = h.start(src(true), {}, { base: server.url });
    await h.settle();
    assert.equal(h.get(bad).status, 'failed');
    assert.equal(h.get(bad).error?.type, 'demo_failure');
    assert.deepEqual(Object.fromEntries(server.counts()), { start: 2, 'step-done': 1, 'step-error': 1, 'session-error': 1 });
  } finally {
    await h.close();
    await server.close();
  }
});

test('pause: nothing new starts while paused; resume continues', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: pausable
version: 1.0.0
steps:
  - { id: a, type: task, runner: test.sleep, with: { ms: 1000, value: a } }
  - { id: b, type: task, runner: test.sleep, dependsOn: [a], with: { ms: 1000, value: b } }
`);
    await until(() => h.probe.running === 1, 'a running');
    h.cmd('session.pause', { sessionId: id, reason: 'lunch' });
    await h.advance(1000);
    await h.settle();
    assert.equal(h.get(id).status, 'paused');
    assert.equal(h.step(id, 'a').status, 'succeeded');
    assert.equal(h.get(id).steps.find((x) => x.key === 'b'), undefined);
    assert.deepEqual(h.probe.started, ['a']);
    await h.advance(5000);
    await h.settle();
    assert.deepEqual(h.probe.started, ['a']);
    h.cmd('session.resume', { sessionId: id });
    await until(() => h.probe.running === 1, 'b running');
    await h.advance(1000);
    await h.settle();
    assert.equal(h.get(id).status, 'succeeded');
    assert.deepEqual(h.events(id).filter((e) => e.startsWith('session.')), ['session.started', 'session.paused', 'session.resumed', 'session.succeeded']);
  } finally {
    await h.close();
  }
});

test('cancel: running steps are aborted, the session and its child are cancelled', async () => {
  const h = await Harness.open();
  try {
    h.cmd('workflow.save', { source: CHILD_SLOW });
    const id = h.start(`
name: cancellable
version: 1.0.0
steps:
  - { id: a, type: task, runner: test.sleep, with: { ms: 100000 } }
  - { id: kid, type: workflow, workflow: child_slow }
`);
    await until(() => h.probe.running === 2, 'a and the child step running');
    const childId = h.step(id, 'kid').childId!;
    h.cmd('session.cancel', { sessionId: id });
    await h.settle();
    assert.equal(h.get(id).status, 'cancelled');
    assert.equal(h.step(id, 'a').status, 'cancelled');
    assert.equal(h.step(id, 'kid').status, 'cancelled');
    await until(() => h.get(childId).status === 'cancelled', 'child cancelled');
    await h.settle();
    assert.equal(h.get(childId).status, 'cancelled');
    assert.deepEqual([...h.probe.aborted].sort(), ['a', 'nap']);
    assert.equal(h.probe.running, 0);
  } finally {
    await h.close();
  }
});

/**
 * Control flow run to the end under a ManualClock: transform chains, DAG concurrency, decisions,
 * parallel, race and loops.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, until } from './helpers.ts';

test('transform chain: step outputs feed later steps and the workflow outputs', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: greet
version: 1.0.0
inputs:
  first: { type: string, required: true }
  last: { type: string, required: true }
steps:
  - id: full_name
    type: task
    runner: transform
    with: { value: "{{ inputs.first }} {{ inputs.last }}" }
  - id: greeting
    type: task
    runner: transform
    dependsOn: [full_name]
    with:
      value:
        text: "Hello, {{ steps.full_name.output }}!"
        length: "{{ len(steps.full_name.output) }}"
outputs:
  text: "{{ steps.greeting.output.text }}"
  n: "{{ steps.greeting.output.length }}"
`, { first: 'Ada', last: 'Lovelace' });
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded');
    assert.deepEqual(s.output, { text: 'Hello, Ada Lovelace!', n: 12 });
    assert.equal(h.step(id, 'full_name').output, 'Ada Lovelace');
    assert.equal(h.step(id, 'greeting').attempts, 1);
    assert.deepEqual(h.events(id), [
      'session.started',
      'step.scheduled full_name', 'step.started full_name', 'step.succeeded full_name',
      'step.scheduled greeting', 'step.started greeting', 'step.succeeded greeting',
      'session.succeeded',
    ]);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('DAG: independent steps run at the same time; the join waits for both', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: dag
version: 1.0.0
steps:
  - { id: a, type: task, runner: test.sleep, with: { ms: 1000, value: A } }
  - { id: b, type: task, runner: test.sleep, with: { ms: 2000, value: B } }
  - id: c
    type: task
    runner: transform
    dependsOn: [a, b]
    with: { value: "{{ steps.a.output.value }}{{ steps.b.output.value }}" }
outputs: { c: "{{ steps.c.output }}" }
`);
    await until(() => h.probe.running === 2, 'both steps running');
    assert.equal(h.step(id, 'a').status, 'running');
    assert.equal(h.step(id, 'b').status, 'running');
    await h.advance(1000);
    await until(() => h.step(id, 'a').status === 'succeeded', 'a done');
    assert.equal(h.step(id, 'b').status, 'running');
    assert.equal(h.get(id).steps.find((x) => x.key === 'c'), undefined);
    await h.advance(1000);
    await h.settle();
    assert.equal(h.probe.maxRunning, 2);
    const s = h.get(id);
    assert.equal(s.status, 'succeeded');
    assert.deepEqual(s.output, { c: 'AB' });
  } finally {
    await h.close();
  }
});

const DECISION = `
name: decide
version: 1.0.0
inputs:
  ok: { type: boolean, required: true }
steps:
  - id: decide
    type: decision
    if: inputs.ok == true
    then: deploy
    else: [abort]
  - { id: deploy, type: task, runner: transform, with: { value: deployed } }
  - { id: abort, type: task, runner: transform, with: { value: aborted } }
  - id: summary
    type: task
    runner: transform
    dependsOn: [deploy, abort]
    join: any
    with: { value: "{{ steps.decide.output.branch }}:{{ steps.deploy.status }}:{{ steps.abort.status }}" }
  - id: strict
    type: task
    runner: transform
    dependsOn: [abort]
    with: { value: after-abort }
outputs: { summary: "{{ steps.summary.output }}" }
`;

test('decision: then branch runs, else is skipped, join any continues, join all skips', async () => {
  const h = await Harness.open();
  try {
    const yes = h.start(DECISION, { ok: true });
    const no = h.start(DECISION, { ok: false });
    await h.settle();
    assert.equal(h.get(yes).status, 'succeeded');
    assert.deepEqual(h.get(yes).output, { summary: 'then:succeeded:skipped' });
    assert.equal(h.step(yes, 'abort').status, 'skipped');
    assert.equal(h.step(yes, 'strict').status, 'skipped');
    assert.equal(h.step(yes, 'strict').reason, 'dependency abort was skipped');
    assert.equal(h.step(no, 'strict').output, 'after-abort');
    assert.deepEqual(h.get(no).output, { summary: 'else:skipped:succeeded' });
    assert.equal(h.step(no, 'deploy').status, 'skipped');
    assert.deepEqual(h.step(no, 'decide').output, { branch: 'else', value: false });
    assert.deepEqual(h.stepEvents(yes, 'abort'), ['step.skipped']);
    assert.deepEqual(h.stepEvents(yes, 'decide'), ['step.scheduled', 'step.started', 'step.succeeded']);
  } finally {
    await h.close();
  }
});

test('parallel: every branch runs, output is the list of last-step outputs in branch order', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: par
version: 1.0.0
steps:
  - id: gather
    type: parallel
    branches:
      - - { id: slow, type: task, runner: test.sleep, with: { ms: 500, value: first } }
      - - { id: fast, type: task, runner: test.sleep, with: { ms: 100, value: 2 } }
        - id: fast_sum
          type: task
          runner: transform
          dependsOn: [fast]
          with: { value: "{{ steps.fast.output.value + 1 }}" }
  - id: report
    type: task
    runner: transform
    dependsOn: [gather]
    with: { value: "{{ len(steps.gather.output) }}" }
outputs: { list: "{{ steps.gather.output }}", n: "{{ steps.report.output }}" }
`);
    await until(() => h.probe.running === 2, 'both branches running');
    await h.advance(100);
    await h.advance(400);
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded');
    assert.deepEqual(s.output, { list: [{ sleptMs: 500, value: 'first' }, 3], n: 2 });
    assert.equal(h.step(id, 'gather').status, 'succeeded');
  } finally {
    await h.close();
  }
});

test('race: the first branch to succeed wins, the loser is cancelled and its signal aborted', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: race
version: 1.0.0
steps:
  - id: download
    type: race
    branches:
      - - { id: eu, type: task, runner: test.sleep, with: { ms: 3000, value: eu } }
      - - { id: us, type: task, runner: test.sleep, with: { ms: 1000, value: us } }
outputs: { r: "{{ steps.download.output }}" }
`);
    await until(() => h.probe.running === 2, 'both running');
    await h.advance(1000);
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded');
    assert.deepEqual(s.output, { r: { winner: 1, output: { sleptMs: 1000, value: 'us' } } });
    assert.equal(h.step(id, 'eu').status, 'cancelled');
    assert.equal(h.step(id, 'eu').reason, 'lost the race');
    assert.deepEqual(h.probe.aborted, ['eu']);
    assert.equal(h.probe.running, 0);
  } finally {
    await h.close();
  }
});

test('loop: concurrency 2 is never exceeded and the output keeps input order', async () => {
  const h = await Harness.open();
  try {
    const id = h.start(`
name: loop
version: 1.0.0
inputs:
  items: { type: array, required: true }
steps:
  - id: each
    type: loop
    over: inputs.items
    as: it
    concurrency: 2
    steps:
      - id: work
        type: task
        runner: test.sleep
        with: { ms: "{{ it.ms }}", value: "{{ it.name }}-{{ loop.index }}" }
  - id: done
    type: task
    runner: transform
    dependsOn: [each]
    with: { value: "{{ len(steps.each.output) }} items" }
outputs: { names: "{{ steps.each.output }}", done: "{{ steps.done.output }}" }
`, { items: [{ name: 'a', ms: 300 }, { name: 'b', ms: 100 }, { name: 'c', ms: 100 }, { name: 'd', ms: 100 }, { name: 'e', ms: 50 }] });
    for (let i = 0; i < 12; i++) {
      await until(() => h.probe.running > 0 || h.get(id).status !== 'running', 'something running');
      assert.ok(h.probe.running <= 2, `running ${h.probe.running}`);
      if (h.get(id).status !== 'running') break;
      await h.advance(50);
    }
    await h.settle();
    const s = h.get(id);
    assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
    assert.equal(h.probe.maxRunning, 2);
    assert.deepEqual((s.output as { names: { value: string }[] }).names.map((x) => x.value), ['a-0', 'b-1', 'c-2', 'd-3', 'e-4']);
    assert.equal((s.output as { done: string }).done, '5 items');
    assert.equal(h.step(id, 'each[4].work').status, 'succeeded');
  } finally {
    await h.close();
  }
});

/**
 * One YAML file per feature (test/fixtures/workflows): valid ones parse to the expected normalised
 * shape; invalid ones produce the expected issue at the exact path, line and column.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { parseWorkflow, type Step } from '../../../worker/workflow/index.ts';
import { FIXTURES, fixtureText, valid } from './helpers.ts';

function step(steps: readonly Step[], id: string): Step {
  const s = steps.find((x) => x.id === id);
  assert.ok(s, `no step ${id}`);
  return s;
}

describe('valid fixtures', () => {
  test('http-task: a task step keeps runner and with, and its timeout becomes milliseconds', () => {
    const { workflow } = valid(fixtureText('http-task.yaml'));
    assert.deepEqual(workflow.steps, [{
      id: 'fetch', name: 'Fetch health', type: 'task', runner: 'http', dependsOn: [], join: 'all', timeout: 10_000,
      with: { method: 'GET', url: '{{ inputs.base_url }}/health', headers: { accept: 'application/json' } },
    }]);
    assert.deepEqual(workflow.outputs, { status: '{{ steps.fetch.output.status }}' });
    assert.deepEqual(workflow.inputs, { base_url: { type: 'string', required: true, description: 'Where the service listens, e.g. https://api.example.com' } });
  });

  test('transform: dependsOn is kept and nested with values stay templates', () => {
    const { workflow } = valid(fixtureText('transform.yaml'));
    const greeting = step(workflow.steps, 'greeting');
    assert.deepEqual(greeting, {
      id: 'greeting', type: 'task', runner: 'transform', dependsOn: ['full_name'], join: 'all',
      with: { value: { text: 'Hello, {{ steps.full_name.output }}!', length: '{{ len(steps.full_name.output) }}' } },
    });
  });

  test('decision: then/else short forms become lists and join any is kept', () => {
    const { workflow } = valid(fixtureText('decision.yaml'));
    assert.deepEqual(step(workflow.steps, 'decide'), {
      id: 'decide', type: 'decision', dependsOn: ['validate'], join: 'all', if: 'steps.validate.output.json.safe == true', then: ['deploy'], else: ['abort'],
    });
    assert.equal(step(workflow.steps, 'summary').join, 'any');
    assert.deepEqual(workflow.inputs['environment'], { type: 'string', required: false, default: 'dev', enum: ['dev', 'staging', 'prod'] });
  });

  test('parallel: branches are inline step lists normalised like top-level steps', () => {
    const { workflow } = valid(fixtureText('parallel.yaml'));
    const gather = step(workflow.steps, 'gather');
    assert.equal(gather.type, 'parallel');
    if (gather.type !== 'parallel') return;
    assert.deepEqual(gather.branches.map((b) => b.map((s) => s.id)), [['logs'], ['metrics', 'metrics_summary']]);
    assert.deepEqual(gather.branches[1]![1]!.dependsOn, ['metrics']);
  });

  test('race: three branches, a wait inside one, the timeout in milliseconds', () => {
    const { workflow } = valid(fixtureText('race.yaml'));
    const race = step(workflow.steps, 'download');
    assert.equal(race.type, 'race');
    if (race.type !== 'race') return;
    assert.equal(race.timeout, 120_000);
    assert.deepEqual(race.branches.map((b) => b.map((s) => s.id)), [['from_eu'], ['from_us'], ['fallback_wait', 'from_origin']]);
    assert.deepEqual(race.branches[2]![0], { id: 'fallback_wait', type: 'wait', duration: 30_000, dependsOn: [], join: 'all' });
  });

  test('loop-with-concurrency: over, as and concurrency are kept and the body is normalised', () => {
    const { workflow } = valid(fixtureText('loop-with-concurrency.yaml'));
    const loop = step(workflow.steps, 'each_image');
    assert.equal(loop.type, 'loop');
    if (loop.type !== 'loop') return;
    assert.equal(loop.over, 'inputs.images');
    assert.equal(loop.as, 'image');
    assert.equal(loop.concurrency, 4);
    assert.deepEqual(loop.steps[0]!.retry, { maxAttempts: 2, backoff: 'exponential', initialDelay: 1000, maxDelay: 100_000 });
  });

  test('wait-duration: compact and ISO-8601 durations become milliseconds', () => {
    const { workflow } = valid(fixtureText('wait-duration.yaml'));
    assert.deepEqual(step(workflow.steps, 'pause'), { id: 'pause', type: 'wait', dependsOn: ['start'], join: 'all', duration: 5_400_000 });
    assert.deepEqual(step(workflow.steps, 'pause_iso'), { id: 'pause_iso', type: 'wait', dependsOn: ['pause'], join: 'all', duration: 300_000 });
  });

  test('wait-until: a literal time is stored in UTC and a template is kept', () => {
    const { workflow } = valid(fixtureText('wait-until.yaml'));
    assert.deepEqual(step(workflow.steps, 'embargo'), { id: 'embargo', type: 'wait', dependsOn: [], join: 'all', until: '2026-03-01T08:00:00.000Z' });
    assert.deepEqual(step(workflow.steps, 'scheduled'), { id: 'scheduled', type: 'wait', dependsOn: ['embargo'], join: 'all', until: '{{ inputs.launch_at }}' });
  });

  test('agent: tool short forms become objects, http defaults to GET, maxTurns is kept', () => {
    const { workflow } = valid(fixtureText('agent.yaml'));
    const a = step(workflow.steps, 'investigate');
    assert.ok(a.type === 'agent');
    assert.equal(a.maxTurns, 8);
    assert.deepEqual(a.tools, [
      { kind: 'forest.search' },
      { kind: 'forest.write' },
      { kind: 'http', allow: ['https://status.example.com/api/'], methods: ['GET'] },
      { kind: 'workflow', workflow: 'health-check', description: 'Checks one service; input { service }.' },
    ]);
    const bare = valid(`name: a\nversion: 1.0.0\nsteps:\n  - id: x\n    type: agent\n    model: m\n    prompt: p\n    tools: [http]\n`).workflow.steps[0]!;
    assert.deepEqual(bare.type === 'agent' && [bare.tools, bare.maxTurns], [[{ kind: 'http', methods: ['GET'] }], 8]);
    for (const [tools, fragment] of [
      ['[]', /too small|at least 1|expected.*1/i],
      ['[shell]', /expected forest.search \| forest.write \| http; got "shell"/],
      ['[forest.search, forest.search]', /listed twice/],
      ['[{ workflow: Bad Name }]', /expected forest.search|workflow name/],
    ] as const) {
      const r = parseWorkflow(`name: a\nversion: 1.0.0\nsteps:\n  - id: x\n    type: agent\n    model: m\n    prompt: p\n    tools: ${tools}\n`);
      assert.equal(r.ok, false, tools);
      assert.match(r.ok ? '' : r.errors.map((e) => e.message).join(' | '), fragment, tools);
    }
  });

  test('forest: the query fields, with topK and budget defaults filled in', () => {
    const { workflow } = valid(fixtureText('forest.yaml'));
    assert.deepEqual(step(workflow.steps, 'runbooks'), { id: 'runbooks', type: 'forest', dependsOn: [], join: 'all', query: '{{ inputs.service }} rollback', tags: ['runbook'], topK: 3, budget: 2000 });
    const bare = valid('name: a\nversion: 1.0.0\nsteps:\n  - id: x\n    type: forest\n    query: deploy\n').workflow.steps[0]!;
    assert.deepEqual(bare.type === 'forest' && [bare.topK, bare.budget], [5, 4000]);
    const bad = parseWorkflow('name: a\nversion: 1.0.0\nsteps:\n  - id: x\n    type: forest\n    query: "{{ inputs.nope }}"\n    topK: 0\n');
    assert.equal(bad.ok, false);
    assert.deepEqual(bad.ok ? [] : bad.errors.map((e) => e.code).sort(), ['out_of_range', 'undeclared_input']);
  });

  test('approval: prompt, approvers, timeout and onTimeout are kept', () => {
    const { workflow } = valid(fixtureText('approval.yaml'));
    assert.deepEqual(step(workflow.steps, 'sign_off'), {
      id: 'sign_off', type: 'approval', dependsOn: [], join: 'all', timeout: 172_800_000, prompt: 'Release {{ inputs.version }} to production?',
      approvers: ['release-managers', 'alice@example.com'], onTimeout: 'reject',
    });
  });

  test('child-workflow: the reference with and without a version, and the inputs', () => {
    const { workflow } = valid(fixtureText('child-workflow.yaml'));
    assert.deepEqual(step(workflow.steps, 'api'), { id: 'api', type: 'workflow', workflow: 'deploy_service@1.0.0', dependsOn: [], join: 'all', inputs: { service: 'api', environment: 'prod' } });
    const web = step(workflow.steps, 'web');
    assert.equal(web.type === 'workflow' && web.workflow, 'deploy_service');
  });

  test('gate-and-onfailure: gate becomes a list of checks and onFailure keeps goto and maxLoops', () => {
    const { workflow } = valid(fixtureText('gate-and-onfailure.yaml'));
    const t = step(workflow.steps, 'test');
    assert.equal(t.gate?.length, 2);
    assert.deepEqual(t.gate?.[1], { check: 'output.coverage >= 0.8', reason: 'coverage {{ output.coverage }} is below 0.8' });
    assert.deepEqual(t.onFailure, { goto: 'implement', maxLoops: 3 });
    assert.deepEqual(step(workflow.steps, 'lint').gate, [{ check: 'steps.lint.output.errors == 0' }]);
  });

  test('retry-policies: defaults are filled in and every delay is milliseconds', () => {
    const { workflow } = valid(fixtureText('retry-policies.yaml'));
    assert.deepEqual(workflow.steps.map((s) => s.retry), [
      { maxAttempts: 3, backoff: 'exponential', initialDelay: 1000, maxDelay: 100_000 },
      { maxAttempts: 5, backoff: 'exponential', initialDelay: 500, maxDelay: 30_000, retryOn: ['timeout', 'http_5xx'] },
      { maxAttempts: 4, backoff: 'linear', initialDelay: 2000, maxDelay: 200_000 },
      { maxAttempts: 10, backoff: 'fixed', initialDelay: 60_000, maxDelay: 6_000_000 },
    ]);
  });

  test('hooks: workflow and step hooks of every type, with the webhook method defaulting to POST', () => {
    const { workflow } = valid(fixtureText('hooks.yaml'));
    assert.equal(workflow.hooks?.onStart?.type, 'webhook');
    assert.deepEqual(workflow.hooks?.onComplete, { type: 'webhook', config: { url: 'https://chat.example.com/hook', method: 'POST', headers: { 'x-source': 'kingdom' }, body: { text: 'done: {{ steps.build.output.artifact }}' } } });
    const build = step(workflow.steps, 'build');
    assert.deepEqual(build.hooks?.onStart, { type: 'task', config: { runner: 'runner.notify', with: { message: 'build starting' } } });
    assert.deepEqual(build.hooks?.onError, { type: 'llm', config: { model: 'claude-haiku-4', prompt: 'Explain this build failure: {{ error.message }}' } });
  });

  test('inputs-all-types: every input type with its default, and required defaults to false', () => {
    const { workflow } = valid(fixtureText('inputs-all-types.yaml'));
    assert.deepEqual(workflow.inputs, {
      name: { type: 'string', required: true, description: 'Who to greet.' },
      mode: { type: 'string', required: false, default: 'safe', enum: ['fast', 'safe'] },
      count: { type: 'number', required: false, default: 3 },
      dry_run: { type: 'boolean', required: false, default: false },
      options: { type: 'object', required: false, default: { verbose: true } },
      tags: { type: 'array', required: false, default: ['nightly'] },
    });
  });

  test('every valid fixture parses, and every fixture is covered by a test here', () => {
    const names = readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml'));
    const validNames = names.filter((f) => !f.startsWith('invalid-'));
    assert.deepEqual(validNames.sort(), [...VALID].sort());
    for (const f of validNames) assert.equal(parseWorkflow(fixtureText(f)).ok, true, f);
    assert.deepEqual(names.filter((f) => f.startsWith('invalid-')).sort(), Object.keys(INVALID).sort());
  });
});

const VALID = [
  'http-task.yaml', 'transform.yaml', 'decision.yaml', 'parallel.yaml', 'race.yaml', 'loop-with-concurrency.yaml', 'wait-duration.yaml',
  'wait-until.yaml', 'approval.yaml', 'child-workflow.yaml', 'gate-and-onfailure.yaml', 'retry-policies.yaml', 'hooks.yaml', 'inputs-all-types.yaml',
  'agent.yaml', 'forest.yaml',
];

/** Each invalid fixture: its one issue, exactly (the message is matched by a fragment). */
const INVALID: Record<string, { path: string; line: number; column: number; code: string; message: RegExp }> = {
  'invalid-unknown-key.yaml': { path: 'steps[1].depends_on', line: 10, column: 5, code: 'unknown_key', message: /unknown key "depends_on" — did you mean "dependsOn"\?/ },
  'invalid-bad-enum.yaml': { path: 'steps[2].retry.backoff', line: 15, column: 16, code: 'invalid_value', message: /^expected exponential \| linear \| fixed; got "exponentail" — did you mean "exponential"\?$/ },
  'invalid-unknown-step.yaml': { path: 'steps[1].dependsOn[0]', line: 10, column: 17, code: 'unknown_step', message: /no step "biuld".*did you mean "build"\?/ },
  'invalid-cycle.yaml': { path: 'steps[0].dependsOn[0]', line: 7, column: 17, code: 'cycle', message: /dependsOn cycle: a → b → c → a/ },
  'invalid-unreachable.yaml': { path: 'steps[4]', line: 19, column: 5, code: 'unreachable', message: /"report" can never run: it needs decision "decide" to take both branches \(then via "deploy", else via "abort"\).*join: any/ },
  'invalid-bad-duration.yaml': { path: 'steps[0].timeout', line: 7, column: 14, code: 'invalid_duration', message: /"5 minutes" is not a duration.*units are ms, s, m, h, d, w/ },
  'invalid-duplicate-id.yaml': { path: 'steps[1].steps[0].id', line: 11, column: 13, code: 'duplicate_id', message: /"fetch" is already used by steps\[0\]/ },
  'invalid-not-upstream.yaml': { path: 'steps[1].with.message', line: 11, column: 26, code: 'not_upstream', message: /"notify" reads steps\.build, but "build" is not upstream of it.*add "build" to notify\.dependsOn/ },
  'invalid-undeclared-input.yaml': { path: 'steps[0].with.target', line: 10, column: 19, code: 'undeclared_input', message: /inputs\.enviroment is not a declared input \(did you mean inputs\.environment\?\)/ },
  'invalid-bad-expression.yaml': { path: 'steps[1].if', line: 11, column: 34, code: 'invalid_expression', message: /after "==" at position 24/ },
  'invalid-default-type.yaml': { path: 'inputs.count.default', line: 6, column: 14, code: 'invalid_default', message: /expected a number \(the input's type\); got the string "five"/ },
  'invalid-yaml-syntax.yaml': { path: '', line: 8, column: 1, code: 'yaml_syntax', message: /Flow map .* end with a \}/ },
  'invalid-duplicate-key.yaml': { path: 'steps[0].runner', line: 7, column: 5, code: 'duplicate_key', message: /the key "runner" appears twice/ },
  'invalid-custom-tag.yaml': { path: 'steps[0].with.body', line: 8, column: 26, code: 'custom_tag', message: /the tag !js\/function is not allowed/ },
  'invalid-alias-bomb.yaml': { path: 'steps[0].with.body', line: 13, column: 19, code: 'alias_limit', message: /resource exhaustion.*at most 100/ },
  'invalid-goto.yaml': { path: 'steps[0].onFailure.goto', line: 7, column: 24, code: 'invalid_route', message: /"report" is not upstream of "test"/ },
  'invalid-bad-template.yaml': { path: 'steps[0].with.url', line: 8, column: 33, code: 'invalid_template', message: /Unterminated "\{\{" at position 20/ },
};

describe('invalid fixtures', () => {
  for (const [file, want] of Object.entries(INVALID)) {
    test(`${file} reports ${want.code} at ${want.path || '(document)'} ${want.line}:${want.column}`, () => {
      const r = parseWorkflow(fixtureText(file));
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors, null, 1));
      const [got] = r.errors;
      assert.deepEqual({ path: got!.path, line: got!.line, column: got!.column, code: got!.code }, { path: want.path, line: want.line, column: want.column, code: want.code });
      assert.match(got!.message, want.message);
    });
  }
});

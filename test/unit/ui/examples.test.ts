/**
 * The one-click example workflows (src/lib/examples.ts): each parses, is named as listed, and
 * uses only the built-in runners, so it runs offline in any workspace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXAMPLES } from '../../../src/lib/examples.ts';
import { fieldsOf, initialValues, parseValues } from '../../../src/lib/workflows/inputs.ts';
import { parseWorkflow, validateInputs, type Hook, type Hooks, type Step, type Workflow } from '../../../worker/workflow/index.ts';
import { defaultRunners, MAX_SLEEP_MS } from '../../../worker/engine/runners/index.ts';

const BUILT_IN = new Set(['http', 'transform', 'noop', 'demo.sleep', 'demo.flaky', 'demo.fail']);

function parsed(source: string, name: string): Workflow {
  const r = parseWorkflow(source);
  if (!r.ok) assert.fail(`${name}:\n${r.errors.map((e) => `${e.path} ${e.line}:${e.column} ${e.code} ${e.message}`).join('\n')}`);
  return r.workflow;
}

function hookRunners(hooks: Hooks | undefined): string[] {
  return Object.values(hooks ?? {}).flatMap((h: Hook | undefined) => (h?.type === 'task' ? [h.config.runner] : h === undefined ? [] : [`<${h.type} hook>`]));
}

/** Every task step, nested ones included (parallel/race branches, loop bodies). */
function tasks(steps: readonly Step[]): Extract<Step, { type: 'task' }>[] {
  return steps.flatMap((s): Extract<Step, { type: 'task' }>[] => {
    if (s.type === 'task') return [s];
    if (s.type === 'parallel' || s.type === 'race') return s.branches.flatMap((b) => tasks(b));
    if (s.type === 'loop') return tasks(s.steps);
    return [];
  });
}

function allSteps(steps: readonly Step[]): Step[] {
  return steps.flatMap((s): Step[] => [s, ...(s.type === 'parallel' || s.type === 'race' ? s.branches.flatMap((b) => allSteps(b)) : s.type === 'loop' ? allSteps(s.steps) : [])]);
}

test('there are examples, with unique names and titles', () => {
  assert.ok(EXAMPLES.length > 0);
  assert.equal(new Set(EXAMPLES.map((e) => e.name)).size, EXAMPLES.length);
  assert.equal(new Set(EXAMPLES.map((e) => e.title)).size, EXAMPLES.length);
  for (const e of EXAMPLES) assert.ok(e.title.trim().length > 0, e.name);
});

for (const example of EXAMPLES) {
  test(`example ${example.name}: parses, is named ${example.name}, and uses only built-in runners`, () => {
    const workflow = parsed(example.source, example.name);
    assert.equal(workflow.name, example.name);
    assert.ok((workflow.description ?? '').length > 0, 'the library shows a description');
    const runners = [
      ...hookRunners(workflow.hooks),
      ...allSteps(workflow.steps).flatMap((s) => hookRunners(s.hooks)),
      ...tasks(workflow.steps).map((t) => t.runner),
    ];
    for (const r of runners) assert.ok(BUILT_IN.has(r), `${example.name} uses runner "${r}", which is not built in`);
    const models = allSteps(workflow.steps).filter((s) => s.type === 'llm' || s.type === 'agent').map((s) => s.id);
    if (example.needsProvider) assert.ok(models.length > 0, `${example.name} is marked needsProvider but runs no model`);
    else assert.deepEqual(models, [], `${example.name}: these steps need a model; mark the example needsProvider`);
  });

  test(`example ${example.name}: its run form, as pre-filled, starts a session`, () => {
    const workflow = parsed(example.source, example.name);
    const fields = fieldsOf(workflow.inputs);
    const values = initialValues(fields);
    // An example that needs a provider asks only for the model (any configured provider/model).
    if (example.needsProvider) values['model'] = 'local/any-model';
    const form = parseValues(fields, values);
    if (!form.ok) assert.fail(`${example.name}: the pre-filled form has errors ${JSON.stringify(form.errors)}`);
    assert.equal(validateInputs(workflow, form.inputs).ok, true);
    if (example.needsProvider) assert.equal(parseValues(fields, initialValues(fields)).ok, false, 'without a model the form says so');
  });
}

test('the built-in runner list matches the registry (apart from the llm slot)', () => {
  const names = defaultRunners().map((r) => r.name).filter((n) => n !== 'llm');
  assert.deepEqual(new Set(names), BUILT_IN);
});

test('demo runner arguments in the examples are ones the runners accept', () => {
  for (const example of EXAMPLES) {
    for (const t of tasks(parsed(example.source, example.name).steps)) {
      if (t.runner === 'demo.sleep') {
        const ms = t.with['ms'];
        assert.ok(typeof ms === 'number' && ms >= 0 && ms <= MAX_SLEEP_MS, `${example.name}/${t.id}: ms ${String(ms)}`);
      }
      if (t.runner === 'demo.flaky') {
        const failTimes = t.with['failTimes'];
        assert.ok(typeof failTimes === 'number' && Number.isSafeInteger(failTimes) && failTimes >= 0, `${example.name}/${t.id}: failTimes`);
        assert.ok(t.retry !== undefined && t.retry.maxAttempts > failTimes, `${example.name}/${t.id}: the retry policy outlasts the injected failures`);
      }
    }
  }
});

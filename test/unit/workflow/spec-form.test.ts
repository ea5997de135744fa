/**
 * The Kingdom spec's form (worker/workflow/spec-form.ts): the spec's two example workflows
 * (test/fixtures/workflows/spec/, copied verbatim) validate; nested `llm:`/`task:`/`condition:`
 * blocks, hoisted inline branch steps, bare `{{input}}` and `steps.<llm>.output.<field>` read into
 * the internal model with the same hash as the canonical form; issues are reported where they
 * were written; canonical files are untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromSpecForm, shorthands } from '../../../worker/workflow/spec-form.ts';
import { fixtureText, issues, only, valid } from './helpers.ts';

const spec = (name: string): string => fixtureText(`spec/${name}.yaml`);

test('the spec\'s deploy_service and deploy_microservice validate as written', () => {
  const { workflow } = valid(spec('deploy_service'));
  assert.deepEqual(workflow.steps.map((s) => s.id), ['validate', 'decide', 'deploy', 'abort', 'capture_result'], 'inline branch steps follow their decision');
  const decide = workflow.steps[1] as { if: string; then: string[]; else: string[] };
  assert.equal(decide.if, 'steps.validate.output.json.safe === true', 'the llm answer\'s field is read from output.json');
  assert.deepEqual([decide.then, decide.else], [['deploy'], ['abort']]);
  const deploy = workflow.steps[2] as { runner: string; with: Record<string, string>; retry?: { maxAttempts: number }; timeout?: number };
  assert.equal(deploy.runner, 'runner.deploy');
  assert.deepEqual(deploy.with, { service: '{{inputs.service}}', version: '{{inputs.version}}', environment: '{{inputs.environment}}' });
  assert.equal(deploy.retry?.maxAttempts, 3);
  assert.equal(deploy.timeout, 600_000);
  const validate = workflow.steps[0] as { prompt: string; model: string };
  assert.match(validate.prompt, /- Service: \{\{inputs\.service\}\}/, 'bare {{service}} names the input');
  assert.equal(validate.model, 'claude-sonnet-4');
  assert.match((workflow.steps[3] as unknown as { with: { message: string } }).with.message, /steps\.validate\.output\.json\.warnings/);

  const micro = valid(spec('deploy_microservice')).workflow;
  assert.equal(micro.author, 'acme-corp');
  assert.deepEqual(micro.steps.map((s) => [s.id, (s as { runner?: string }).runner]), [['build', 'runner.docker'], ['test', 'runner.pytest'], ['deploy', 'runner.kubernetes']]);
});

test('the spec form and its canonical form are the same workflow (same hash)', () => {
  const written = `name: t
version: 1.0.0
inputs:
  service: { type: string, required: true }
steps:
  - id: check
    type: llm
    llm:
      model: m
      prompt: "Is {{service}} safe?"
      outputSchema: { type: object, properties: { safe: { type: boolean } } }
  - id: decide
    type: decision
    dependsOn: [check]
    condition:
      expression: "steps.check.output.safe == true"
      then:
        - id: go
          type: task
          task: { runner: http, vars: { url: "https://x.test/{{service}}" } }
      else:
        - id: stop
          type: task
          task: { runner: transform, vars: { value: 1 } }
`;
  const canonical = `name: t
version: 1.0.0
inputs:
  service: { type: string, required: true }
steps:
  - id: check
    type: llm
    model: m
    prompt: "Is {{inputs.service}} safe?"
    outputSchema: { type: object, properties: { safe: { type: boolean } } }
  - id: decide
    type: decision
    dependsOn: [check]
    if: "steps.check.output.json.safe == true"
    then: [go]
    else: [stop]
  - { id: go, type: task, runner: http, with: { url: "https://x.test/{{inputs.service}}" } }
  - { id: stop, type: task, runner: transform, with: { value: 1 } }
`;
  assert.equal(valid(written).hash, valid(canonical).hash);
});

test('issues are reported where they were written, inside the nested blocks', () => {
  const text = `name: t
version: 1.0.0
steps:
  - id: decide
    type: decision
    condition:
      expression: "true"
      then:
        - id: go
          type: task
          task:
            runner: "Not A Runner"
      else:
        - id: stop
          type: task
          bogus: 1
          task: { runner: http }
`;
  const found = issues(text);
  const runner = found.find((i) => i.path === 'steps[0].condition.then[0].task.runner');
  assert.ok(runner, `the runner issue at its written path: ${JSON.stringify(found)}`);
  assert.deepEqual([runner.line, runner.column], [12, 21]);
  const bogus = only(found, 'unknown_key');
  assert.equal(bogus.path, 'steps[0].condition.else[0].bogus');
  assert.equal(bogus.line, 16);
  const expr = issues(`name: t
version: 1.0.0
steps:
  - id: d
    type: decision
    condition:
      expression: "1 +"
      then: [x]
  - { id: x, type: task, runner: http }
`);
  assert.ok(expr.some((i) => i.path.startsWith('steps[0].condition.expression') && i.line === 7), JSON.stringify(expr));
});

test('a canonical file is untouched: no shorthand is read without the spec\'s blocks', () => {
  const text = 'name: t\nversion: 1.0.0\ninputs:\n  service: { type: string }\nsteps:\n  - { id: a, type: task, runner: http, with: { url: "{{service}}" } }\n';
  const parsed = fromSpecForm({ name: 't', steps: [{ id: 'a', type: 'task', with: { url: '{{service}}' } }], inputs: { service: {} } });
  assert.equal(parsed.specForm, false);
  assert.equal(issues(text).length > 0, true, 'a bare {{service}} stays an error in the canonical form');
  assert.equal(shorthands('{{ loop }} {{steps}} {{ service }}', new Set(['loop', 'service']), new Set()), '{{ loop }} {{steps}} {{ inputs.service }}', 'reserved names are never inputs');
  assert.equal(shorthands('steps.a.output.text steps.a.output.x steps.b.output.x', new Set(), new Set(['a'])), 'steps.a.output.text steps.a.output.json.x steps.b.output.x');
});

test('fromSpecForm never throws and never changes its input', () => {
  const block = fc.oneof(fc.anything(), fc.record({ runner: fc.anything(), vars: fc.anything() }), fc.record({ expression: fc.anything(), then: fc.anything(), else: fc.anything() }));
  const step = fc.oneof(fc.anything(), fc.record({ id: fc.anything(), type: fc.anything(), llm: block, task: block, condition: block, steps: fc.array(fc.anything()), branches: fc.anything() }, { requiredKeys: [] }));
  fc.assert(fc.property(fc.record({ inputs: fc.anything(), steps: fc.array(step, { maxLength: 6 }) }, { requiredKeys: [] }), (value) => {
    const before = JSON.stringify(value);
    const r = fromSpecForm(value);
    assert.equal(JSON.stringify(value), before);
    r.originalPath(['steps', 3, 'x', 1]);
  }), { numRuns: 500 });
});

/**
 * Templates (worker/workflow/templates.ts).
 *
 * Invariants checked:
 * 1. A template that is exactly one placeholder keeps the value's type; mixed text stringifies.
 * 2. `\{{` escapes; an unterminated `{{` and bad placeholders throw with template positions.
 * 3. renderDeep renders nested strings into new plain objects, never copying `__proto__`.
 * 4. templateReferences lists the static data paths used.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expressionReferences, renderDeep, renderTemplate, templateReferences } from '../../../worker/workflow/templates.ts';
import { expectExprError } from './expr/helpers.ts';

const scope = {
  inputs: { n: 3, name: 'web', flag: false, list: [1, 2], cfg: { a: 1 }, nothing: null },
  steps: { build: { output: { artifact: 'app.tgz', size: 10 } } },
  env: { REGION: 'eu' },
};

describe('renderTemplate', () => {
  test('a single placeholder keeps the raw value: number, boolean, array, object, null, undefined', () => {
    assert.equal(renderTemplate('{{ inputs.n }}', scope), 3);
    assert.equal(renderTemplate('{{inputs.flag}}', scope), false);
    assert.deepEqual(renderTemplate('{{ inputs.list }}', scope), [1, 2]);
    assert.deepEqual(renderTemplate('{{ inputs.cfg }}', scope), { a: 1 });
    assert.equal(renderTemplate('{{ inputs.nothing }}', scope), null);
    assert.equal(renderTemplate('{{ inputs.missing }}', scope), undefined);
  });

  test('text around a placeholder makes the result a string', () => {
    assert.equal(renderTemplate(' {{ inputs.n }}', scope), ' 3');
    assert.equal(renderTemplate('{{ inputs.n }}{{ inputs.n }}', scope), '33');
  });

  test('mixed text stringifies: objects/arrays as JSON, null/undefined as empty', () => {
    assert.equal(
      renderTemplate('deploy {{ inputs.name }} n={{ inputs.n * 2 }} f={{inputs.flag}} l={{ inputs.list }} c={{ inputs.cfg }} z=[{{ inputs.nothing }}][{{ inputs.missing }}]', scope),
      'deploy web n=6 f=false l=[1,2] c={"a":1} z=[][]',
    );
    assert.equal(renderTemplate('{{ steps.build.output.artifact }} in {{ env.REGION }}', scope), 'app.tgz in eu');
  });

  test('a string without placeholders is returned unchanged', () => {
    assert.equal(renderTemplate('plain } { text }}', scope), 'plain } { text }}');
    assert.equal(renderTemplate('', scope), '');
  });

  test('\\{{ escapes a literal {{ and other backslashes stay', () => {
    assert.equal(renderTemplate('\\{{ not }} a placeholder, but {{ inputs.n }} is; C:\\dir', scope), '{{ not }} a placeholder, but 3 is; C:\\dir');
    assert.equal(renderTemplate('\\{{ inputs.n }}', scope), '{{ inputs.n }}');
  });

  test('}} inside a quoted string does not close the placeholder', () => {
    assert.equal(renderTemplate("a{{ '}}' + inputs.name }}b", scope), 'a}}webb');
    assert.equal(renderTemplate('{{ "x\\"}}" }}', scope), 'x"}}');
  });

  test('an unterminated {{ throws invalid_expression at the {{', () => {
    expectExprError(() => renderTemplate('hello {{ inputs.n', scope), 'invalid_expression', 6, 'Unterminated "{{"');
    expectExprError(() => renderTemplate('a {{ b }} c {{', scope), 'invalid_expression', 12, 'of the template');
    expectExprError(() => renderTemplate("{{ 'unclosed }}", scope), 'invalid_expression', 0);
  });

  test('an empty placeholder throws invalid_expression', () => {
    expectExprError(() => renderTemplate('x {{  }} y', scope), 'invalid_expression', 2, 'Empty placeholder');
  });

  test('parse errors report the position in the template', () => {
    expectExprError(() => renderTemplate('ab {{ inputs.__proto__ }}', scope), 'invalid_expression', 13, 'position 13 of the template');
    expectExprError(() => renderTemplate('{{ this }}', scope), 'invalid_expression', 3);
  });

  test('evaluation errors report the position in the template', () => {
    expectExprError(() => renderTemplate('x={{ inputs.name - 1 }}', scope), 'evaluation_error', 17, 'position 17 of the template');
  });

  test('a value that cannot be written as text throws evaluation_error at its {{', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expectExprError(() => renderTemplate('value: {{ c }}', { c: cyclic }), 'evaluation_error', 7, 'cycle at position 7 of the template');
    assert.equal(renderTemplate('{{ c }}', { c: cyclic }), cyclic, 'a single placeholder returns the raw value without encoding it');
  });

  test('each placeholder gets the step budget', () => {
    expectExprError(() => renderTemplate('{{ 1 + 2 + 3 }}', scope, { maxSteps: 3 }), 'evaluation_error', undefined, 'step budget (3 steps)');
    assert.equal(renderTemplate('{{ 1 + 2 }}{{ 1 + 2 }}', scope, { maxSteps: 3 }), '33');
  });
});

describe('renderDeep', () => {
  test('renders every string in nested arrays and objects, keeping other values', () => {
    const input = { a: '{{ inputs.n }}', b: ['x-{{ inputs.name }}', 4, true, null, { c: '{{ inputs.list }}' }], d: 'plain' };
    assert.deepEqual(renderDeep(input, scope), { a: 3, b: ['x-web', 4, true, null, { c: [1, 2] }], d: 'plain' });
  });

  test('returns new plain objects and leaves the input untouched', () => {
    const input = { a: { b: '{{ inputs.n }}' } };
    const out = renderDeep(input, scope) as { a: unknown };
    assert.notEqual(out, input);
    assert.notEqual(out.a, input.a);
    assert.deepEqual(input, { a: { b: '{{ inputs.n }}' } });
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
  });

  test('never copies __proto__ keys and does not pollute prototypes', () => {
    const input = JSON.parse('{"__proto__": {"polluted": "{{ inputs.n }}"}, "constructor": "{{ inputs.name }}", "ok": 1}') as unknown;
    const out = renderDeep(input, scope) as Record<string, unknown>;
    assert.equal(Object.hasOwn(out, '__proto__'), false);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['constructor', 'ok']);
    assert.equal(out['constructor'], 'web');
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('keys are not rendered, getters never run', () => {
    let ran = false;
    const input = { '{{ inputs.n }}': 'v', get g() { ran = true; return '{{ inputs.n }}'; } };
    assert.deepEqual(renderDeep(input, scope), { '{{ inputs.n }}': 'v', g: undefined });
    assert.equal(ran, false);
  });

  test('cycles and absurd depth throw evaluation_error instead of overflowing', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expectExprError(() => renderDeep(cyclic, scope), 'evaluation_error', 0, 'nested deeper than 256');
  });

  test('errors in nested strings propagate as ExpressionError', () => {
    expectExprError(() => renderDeep({ a: ['ok', 'bad {{ x + }}'] }, scope), 'invalid_expression', 11);
  });
});

describe('templateReferences', () => {
  test('lists root paths in order of first use, without duplicates', () => {
    assert.deepEqual(
      templateReferences('{{ inputs.x }} and {{ steps.build.output }} and {{ inputs.x }} {{ env.REGION ?? "eu" }}'),
      ['inputs.x', 'steps.build.output', 'env.REGION'],
    );
  });

  test('walks operators, calls, ternaries and arrays, but not function names', () => {
    assert.deepEqual(
      templateReferences("{{ len(inputs.list) > 0 && !steps.a.output.ok ? [inputs.y, -inputs.z] : upper(env.NAME) }}"),
      ['inputs.list', 'steps.a.output.ok', 'inputs.y', 'inputs.z', 'env.NAME'],
    );
  });

  test('literal keys extend the path; a computed key ends it and is walked itself', () => {
    assert.deepEqual(templateReferences("{{ inputs.list[0].name }}{{ env['my-key'] }}{{ inputs.map[inputs.k].v }}"),
      ['inputs.list[0].name', 'env["my-key"]', 'inputs.map', 'inputs.k']);
  });

  test('paths through a call result are not references; the call arguments are', () => {
    assert.deepEqual(templateReferences('{{ parseJson(steps.a.output.text).field }}'), ['steps.a.output.text']);
  });

  test('escaped and plain text contribute nothing; invalid placeholders throw', () => {
    assert.deepEqual(templateReferences('\\{{ inputs.no }} text'), []);
    expectExprError(() => templateReferences('{{ inputs.x.constructor }}'), 'invalid_expression', 12);
  });

  test('expressionReferences works on a bare condition', () => {
    assert.deepEqual(expressionReferences("steps.validate.output.safe === true && inputs.environment != 'prod'"),
      ['steps.validate.output.safe', 'inputs.environment']);
  });
});

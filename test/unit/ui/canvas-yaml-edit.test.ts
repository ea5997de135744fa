/**
 * The canvas edits on YAML text (src/lib/canvas/yaml-edit.ts, yaml-doc.ts, text-merge.ts,
 * palette.ts): add a step from the palette, connect, remove an edge, delete, rename. Each keeps
 * comments, key order and every untouched line byte for byte, and yields YAML the worker's
 * validator accepts; a refused edit says why and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkflow, workflowJsonSchema } from '../../../worker/workflow/index.ts';
import { STEP_ID_PATTERN } from '../../../worker/workflow/schema.ts';
import { addStep, connect, deleteStep, disconnect, renameInExpression, renameStep, type EditResult } from '../../../src/lib/canvas/yaml-edit.ts';
import { paletteFromSchema, STEP_ID, uniqueId } from '../../../src/lib/canvas/palette.ts';
import { carryEdit, diffLines } from '../../../src/lib/canvas/text-merge.ts';
import { EXAMPLES } from '../../../src/lib/examples.ts';
import { fixtureText } from '../workflow/helpers.ts';

const PALETTE = paletteFromSchema(workflowJsonSchema());
const item = (type: string) => PALETTE.find((p) => p.type === type)!;

/** A hand-written file: comments everywhere, mixed flow styles, a blank line, quotes, a block scalar. */
const DOC = `# Release pipeline — keep this comment
name: release
version: "1.0.0"
steps:
  # build first
  - id: build
    type: task
    runner: transform   # inline comment
    with: { value: 1 }

  - id: test
    type: task
    runner: transform
    dependsOn: [build]
    with:
      value: "{{ steps.build.output }}"
  - id: gate
    type: decision
    dependsOn: [test]
    if: steps.test.output == 1
    then: [ship]
    else: [stop]
  - id: ship
    type: task
    runner: transform
    with:
      value: |
        shipping {{ steps.build.output }}
  - id: stop
    type: task
    runner: transform
    with: {value: 'stopped'}
outputs:
  built: "{{ steps.build.output }}" # trailing
`;

function ok(r: EditResult): string {
  assert.ok(r.ok, r.ok ? '' : r.message);
  const v = parseWorkflow(r.text);
  assert.ok(v.ok, `the validator refused:\n${r.text}\n${JSON.stringify(!v.ok && v.errors, null, 1)}`);
  return r.text;
}

/** Lines of `before` missing from `after` and lines of `after` new to it. */
function changed(before: string, after: string): { removed: string[]; added: string[] } {
  const segs = diffLines(before.split('\n'), after.split('\n')).filter((s) => !s.equal);
  const a = before.split('\n');
  const b = after.split('\n');
  return { removed: segs.flatMap((s) => a.slice(s.a0, s.a1)), added: segs.flatMap((s) => b.slice(s.b0, s.b1)) };
}

const COMMENTS = ['# Release pipeline — keep this comment', '  # build first', '    runner: transform   # inline comment', '  built: "{{ steps.build.output }}" # trailing'];

test('the base document is valid', () => {
  assert.ok(parseWorkflow(DOC).ok);
});

test('add a step from the palette: a unique id, placeholders, appended; nothing else changes', () => {
  const text = ok(addStep(DOC, item('task')));
  assert.deepEqual(changed(DOC, text), { removed: [], added: ['  - id: task_1', '    type: task', '    runner: transform', '    with: {value: TODO}'] });
  assert.ok(ok(addStep(fixtureText('parallel.yaml'), item('task'))).endsWith('    with: { value: TODO }\n'), 'flow padding as the file mostly has it');
  const again = addStep(text, item('task'));
  assert.ok(again.ok && again.id === 'task_2');
});

test('every step type of the schema adds a step the validator accepts', () => {
  assert.ok(PALETTE.length >= 11, 'the palette comes from the schema');
  assert.deepEqual(PALETTE.map((p) => p.type).sort(), ['agent', 'approval', 'decision', 'forest', 'llm', 'loop', 'parallel', 'race', 'task', 'wait', 'workflow']);
  for (const p of PALETTE) {
    const r = addStep(DOC, p);
    const text = ok(r);
    assert.ok(r.ok && r.id === `${p.type}_1`, p.type);
    for (const c of COMMENTS) assert.ok(text.includes(`${c}\n`), `${p.type}: comment kept: ${c}`);
    assert.ok(text.startsWith(DOC.slice(0, DOC.indexOf('outputs:'))), `${p.type}: the lines before the new step are untouched`);
  }
});

test('connect: adds a dependsOn entry (new key after the leading keys, or into the list)', () => {
  const a = ok(connect(DOC, 'build', 'ship'));
  assert.deepEqual(changed(DOC, a), { removed: [], added: ['    dependsOn: [build]'] });
  assert.ok(a.includes('    runner: transform\n    dependsOn: [build]\n    with:\n      value: |'), 'after runner, before with');
  const b = ok(connect(DOC, 'gate', 'test'.replace('test', 'stop')));
  assert.ok(b.includes('    dependsOn: [gate]'));
  const c = ok(connect(DOC, 'gate', 'ship'));
  assert.ok(c.includes('    dependsOn: [gate]'));
  const withList = ok(connect(ok(addStep(DOC, item('task'))), 'test', 'task_1'));
  const twice = ok(connect(withList, 'build', 'task_1'));
  assert.deepEqual(changed(withList, twice), { removed: ['    dependsOn: [test]'], added: ['    dependsOn: [test, build]'] });
  assert.equal((connect(twice, 'build', 'task_1') as { text: string }).text, twice, 'already there: unchanged');
});

test('connect refuses a step in another list and itself', () => {
  const p = fixtureText('parallel.yaml');
  const r = connect(p, 'load', 'metrics');
  assert.ok(!r.ok && /different step lists/.test(r.message), JSON.stringify(r));
  const s = connect(DOC, 'build', 'build');
  assert.ok(!s.ok && /itself/.test(s.message));
});

test('remove an edge: a dependsOn entry (an emptied list goes), an else entry, never the last then', () => {
  const a = ok(connect(DOC, 'build', 'stop'));
  assert.equal(ok(disconnect(a, 'build', 'stop', 'dependsOn')), DOC, 'connect then remove gives the text back');
  const both = ok(connect(DOC, 'build', 'gate'));
  assert.deepEqual(changed(DOC, both), { removed: ['    dependsOn: [test]'], added: ['    dependsOn: [test, build]'] });
  assert.equal(ok(disconnect(both, 'build', 'gate', 'dependsOn')), DOC, 'one entry of two');
  // Valid YAML in, still YAML out — but test reads steps.build: the app's validator refuses the result.
  const readsIt = disconnect(DOC, 'build', 'test', 'dependsOn');
  assert.ok(readsIt.ok);
  const v = parseWorkflow(readsIt.text);
  assert.ok(!v.ok && v.errors[0]!.code === 'not_upstream');
  const c = ok(disconnect(DOC, 'gate', 'stop', 'else'));
  assert.deepEqual(changed(DOC, c), { removed: ['    else: [stop]'], added: [] });
  const d = disconnect(DOC, 'gate', 'ship', 'then');
  assert.ok(!d.ok && /only then step/.test(d.message));
});

test('delete a step: its lines go, and it leaves every dependsOn/then/else', () => {
  const before = ok(connect(ok(addStep(DOC, item('task'))), 'stop', 'task_1'));
  const text = ok(deleteStep(before, 'stop'));
  assert.deepEqual(changed(before, text).removed, ['    else: [stop]', '  - id: stop', '    type: task', '    runner: transform', "    with: {value: 'stopped'}", '    dependsOn: [stop]']);
  assert.deepEqual(changed(before, text).added, []);
  for (const c of COMMENTS) assert.ok(text.includes(c), `comment kept: ${c}`);
});

test('delete refuses what would break the workflow, saying where', () => {
  const read = deleteStep(DOC, 'build');
  assert.ok(!read.ok && /^"build" is read by step "test" \(with.value, line 16\), step "ship" \(with.value, line 27\), outputs.built \(line 34\); remove those references/.test(read.message), JSON.stringify(read));
  const onlyThen = deleteStep(DOC, 'ship');
  assert.ok(!onlyThen.ok && /only then step of decision "gate"/.test(onlyThen.message));
  const loop = deleteStep(fixtureText('loop-with-concurrency.yaml'), 'resize');
  assert.ok(!loop.ok && /only step in the body of loop "each_image"/.test(loop.message), JSON.stringify(loop));
  const branch = deleteStep(fixtureText('parallel.yaml'), 'logs');
  assert.ok(!branch.ok && /branch 1 of parallel "gather"/.test(branch.message));
  const metricsSummary = ok(deleteStep(fixtureText('parallel.yaml'), 'metrics_summary'));
  assert.ok(!metricsSummary.includes('metrics_summary'));
});

test('rename: the id, every dependsOn/then/else, and every steps.<id> in expressions and templates', () => {
  const text = ok(renameStep(DOC, 'build', 'compile'));
  assert.deepEqual(changed(DOC, text), {
    removed: ['  - id: build', '    dependsOn: [build]', '      value: "{{ steps.build.output }}"', '        shipping {{ steps.build.output }}', '  built: "{{ steps.build.output }}" # trailing'],
    added: ['  - id: compile', '    dependsOn: [compile]', '      value: "{{ steps.compile.output }}"', '        shipping {{ steps.compile.output }}', '  built: "{{ steps.compile.output }}" # trailing'],
  });
  const t2 = ok(renameStep(DOC, 'test', 'check'));
  assert.ok(t2.includes('    if: steps.check.output == 1'), 'a whole-string expression');
  const t3 = ok(renameStep(DOC, 'ship', 'release'));
  assert.ok(t3.includes('    then: [release]'));
  const hyphen = ok(renameStep(DOC, 'build', 'build-it'));
  assert.ok(hyphen.includes(`      value: '{{ steps["build-it"].output }}'`), hyphen);
});

test('rename refuses a bad or taken id', () => {
  const a = renameStep(DOC, 'build', 'Build');
  assert.ok(!a.ok && /not a step id/.test(a.message));
  const b = renameStep(DOC, 'build', 'test');
  assert.ok(!b.ok && /already exists/.test(b.message));
});

test('renaming inside an expression only touches that step', () => {
  assert.equal(renameInExpression('steps.a.output + steps.ab.output + xsteps.a + steps["a"].x + inputs.steps.a', 'a', 'b'),
    'steps.b.output + steps.ab.output + xsteps.a + steps["b"].x + inputs.steps.a');
  assert.equal(renameInExpression('steps.a-1', 'a', 'x-y'), 'steps["x-y"]-1');
});

test('every example and fixture survives each edit with its untouched lines and comments', () => {
  const sources = [...EXAMPLES.map((e) => e.source), ...['parallel.yaml', 'race.yaml', 'loop-with-concurrency.yaml', 'decision.yaml', 'hooks.yaml', 'gate-and-onfailure.yaml'].map(fixtureText)];
  for (const src of sources) {
    const first = /- id: ([a-z0-9_-]+)/.exec(src)![1]!;
    const text = ok(addStep(src, item('task')));
    assert.deepEqual(changed(src, text).removed, [], `add removes nothing:\n${src}`);
    const renamed = ok(renameStep(text, first, `${first}_x`));
    for (const line of changed(text, renamed).removed) assert.ok(line.includes(first), `rename only touches lines naming ${first}: ${line}`);
    const comments = src.split('\n').filter((l) => l.trimStart().startsWith('#'));
    for (const c of comments) assert.ok(renamed.includes(c), `comment kept: ${c}`);
    const connected = ok(connect(renamed, `${first}_x`, 'task_1'));
    assert.equal(changed(renamed, connected).removed.length, 0);
    const deleted = ok(deleteStep(connected, 'task_1'));
    assert.equal(deleted, ok(renameStep(src, first, `${first}_x`)), 'deleting the added step gives the text before it back');
  }
});

test('text merge: untouched lines keep their own style; a touched line takes the printer\'s', () => {
  const original = 'a: [x]\nb: { y: 1 }\nc: [z]\n';
  const before = 'a: [ x ]\nb: { y: 1 }\nc: [ z ]\n';
  const after = 'a: [ x ]\nb: { y: 1 }\nn: 1\nc: [ z, w ]\n';
  assert.equal(carryEdit(original, before, after), 'a: [x]\nb: { y: 1 }\nn: 1\nc: [ z, w ]\n');
  assert.equal(carryEdit(before, before, after), after);
  assert.equal(carryEdit('p\nq\n', 'p\nq\n', 'p\n'), 'p\n');
});

test('uniqueId and the id pattern agree with the validator', () => {
  assert.equal(STEP_ID.source, STEP_ID_PATTERN.source);
  assert.equal(uniqueId('task', new Set(['task_1', 'task_3'])), 'task_2');
  assert.ok(STEP_ID.test(uniqueId('x'.repeat(80), new Set())));
});

/**
 * "Show as canonical YAML" (worker/workflow/canonical.ts): for every example the library installs
 * and every workflow fixture (the spec's two included), the canonical text parses with the SAME
 * hash and is its own canonical form; the spec's blocks become flat steps with comments kept;
 * keys follow the schema's order; anchors that cannot move leave the order as written; an invalid
 * source is refused, never rewritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalYaml } from '../../../worker/workflow/canonical.ts';
import { parseWorkflow } from '../../../worker/workflow/parse.ts';
import { EXAMPLES } from '../../../src/lib/examples.ts';
import { FIXTURES, fixtureText, valid } from './helpers.ts';

function sources(): [string, string][] {
  const out: [string, string][] = EXAMPLES.map((e) => [`examples: ${e.name}`, e.source]);
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.yaml')) out.push([p, readFileSync(p, 'utf8')]);
    }
  };
  walk(fileURLToPath(FIXTURES));
  return out;
}

function canonical(text: string): { text: string; specForm: boolean; changed: boolean } {
  const r = canonicalYaml(text);
  if (!r.ok) assert.fail(r.message);
  return r;
}

test('every example and fixture: canonical(src) parses with the same hash, and canonical(canonical(src)) === canonical(src)', () => {
  const all = sources();
  assert.ok(all.length >= 60 && all.some(([n]) => n.includes('spec/deploy_service')) && all.some(([n]) => n.startsWith('examples')), 'examples, fixtures and the spec\'s files are all read');
  let validCount = 0;
  for (const [name, src] of all) {
    const before = parseWorkflow(src);
    const r = canonicalYaml(src);
    if (!before.ok) {
      assert.equal(r.ok, false, `${name}: an invalid source is refused, not rewritten`);
      continue;
    }
    validCount++;
    assert.ok(r.ok, `${name}: ${r.ok ? '' : r.message}`);
    const after = parseWorkflow(r.text);
    assert.ok(after.ok, `${name}: the canonical text is valid`);
    assert.equal(after.hash, before.hash, `${name}: same workflow`);
    const again = canonicalYaml(r.text);
    assert.ok(again.ok);
    assert.equal(again.text, r.text, `${name}: idempotent`);
    assert.equal(again.specForm, false, `${name}: the canonical text is in Kingdom's form`);
  }
  assert.ok(validCount >= 40, `${validCount} valid sources checked`);
});

test('the spec\'s deploy_service: flat llm and task steps, inline steps after their decision, shorthands written out, comments kept', () => {
  const src = fixtureText('spec/deploy_service.yaml');
  const r = canonical(src);
  assert.equal(r.specForm, true);
  assert.equal(r.changed, true);
  assert.doesNotMatch(r.text, /^\s*(llm|task|condition|vars|expression):/m, 'no spec block is left');
  assert.match(r.text, /^# workflows\/deploy_service\.yaml\nname: deploy_service\n/, 'the file\'s first comment stays on top');
  assert.match(r.text, /  # Step 1: Validate inputs\n  - id: validate\n    name: Validate deployment\n    type: llm\n    model: claude-sonnet-4\n    prompt: \|\n      Check if deployment is safe:\n      - Service: \{\{inputs\.service\}\}\n/);
  assert.match(r.text, /  # Step 2: Decision based on validation\n  - id: decide\n    name: Decide whether to proceed\n    type: decision\n    dependsOn: \[ validate \]\n    if: "steps\.validate\.output\.json\.safe === true"\n    then: \[ deploy \]\n    else: \[ abort \]\n\n  - id: deploy\n    name: Execute deployment\n    type: task\n    runner: runner\.deploy\n    with:\n/);
  assert.match(r.text, /    timeout: 600000 # 10 minutes\n\n  - id: abort\n/, 'a trailing comment stays on its value; inline steps are spaced like the others');
  assert.match(r.text, /message: "Deployment aborted: \{\{steps\.validate\.output\.json\.warnings\}\}"/);
  assert.match(r.text, /  # Step 3: Create Forest summary\n  - id: capture_result\n/);
  assert.ok(r.text.indexOf('\nhooks:') < r.text.indexOf('\nsteps:'), 'top-level keys in the schema\'s order');
  assert.equal(valid(r.text).hash, valid(src).hash);
});

test('a comment on a dissolved block moves to its first key; the step\'s own comment stays on top when keys are reordered', () => {
  const src = `name: t
version: 1.0.0
inputs:
  who: { type: string }
steps:
  - # the step
    type: task
    id: greet
    # how it runs
    task:
      runner: transform
      vars: { value: "hi {{who}}" } # the greeting
  - id: ask
    dependsOn: [greet]
    llm: # the model
      prompt: "say {{ steps.greet.output }}"
      model: m
`;
  const r = canonical(src);
  assert.equal(r.text, `name: t
version: 1.0.0
inputs:
  who: { type: string }
steps:
  # the step
  - id: greet
    type: task
    # how it runs
    runner: transform
    with: { value: "hi {{inputs.who}}" } # the greeting
  - id: ask
    type: llm
    dependsOn: [ greet ]
    # the model
    model: m
    prompt: "say {{ steps.greet.output }}"
`);
  assert.equal(valid(r.text).hash, valid(src).hash);
});

test('keys follow the schema\'s order: id, name, type, dependsOn, join, if, the type\'s own fields, then retry … outputs; unknown x- keys after the header', () => {
  const src = `steps:
  - with: { value: 1 }
    retry: { initialDelay: 1s, maxAttempts: 2 }
    runner: transform
    type: task
    id: a
  - timeout: 5m
    else: [c]
    then: b
    if: steps.a.output == 1
    type: decision
    dependsOn: [a]
    id: d
  - { id: b, type: wait, duration: 1s }
  - { id: c, type: approval, onTimeout: approve, prompt: ok? }
outputs: { v: "{{ steps.a.output }}" }
x-note: kept
version: 1.0.0
name: t
`;
  const r = canonical(src);
  assert.equal(r.specForm, false);
  assert.equal(r.text, `name: t
version: 1.0.0
x-note: kept
outputs: { v: "{{ steps.a.output }}" }
steps:
  - id: a
    type: task
    runner: transform
    with: { v: 1 }
    retry: { maxAttempts: 2, initialDelay: 1s }
  - id: d
    type: decision
    dependsOn: [ a ]
    if: steps.a.output == 1
    then: b
    else: [ c ]
    timeout: 5m
  - { id: b, type: wait, duration: 1s }
  - { id: c, type: approval, prompt: ok?, onTimeout: approve }
`.replace('{ v: 1 }', '{ value: 1 }'));
});

test('anchors the schema\'s order would put after their aliases: the order stays as written (same workflow)', () => {
  const src = `name: t
version: 1.0.0
steps:
  - id: a
    type: task
    runner: transform
    with: &w { value: 1 }
outputs:
  o: *w
`;
  const r = canonical(src);
  assert.equal(r.text, src);
  assert.equal(r.changed, false);
  const merged = `x-http: &http
  type: task
  runner: http
name: t
version: 1.0.0
steps:
  - <<: *http
    id: ping
    with: { url: "https://a.example.com" }
`;
  const m = canonical(merged);
  assert.equal(valid(m.text).hash, valid(merged).hash);
  assert.match(m.text, /^name: t\nversion: 1\.0\.0\nx-http: &http\n/);
  assert.match(m.text, /  - <<: \*http\n    id: ping\n/, 'a merge key stays first in its mapping');
  // A key merged in wins over the same key in a spec block, as the parser reads it.
  const spec = `x-m: &m
  model: base
name: t
version: 1.0.0
steps:
  - <<: *m
    id: a
    llm: { model: other, prompt: hi }
`;
  const sp = canonical(spec);
  assert.equal(valid(sp.text).hash, valid(spec).hash);
  assert.doesNotMatch(sp.text, /other/);
  assert.match(sp.text, /  - <<: \*m\n    id: a\n    type: llm\n    prompt: hi\n/);
});

test('an invalid or unreadable source is refused with a sentence, never rewritten', () => {
  for (const text of ['name: t\nversion: 1.0.0\nsteps: [', 'name: t\nversion: 1.0.0\nsteps:\n  - { id: a, type: task, runner: transform, bogus: 1 }\n', '', 'a: [b, *nope]']) {
    const r = canonicalYaml(text);
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : r.message, /\.$/);
  }
});

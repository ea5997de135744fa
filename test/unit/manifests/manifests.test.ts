/**
 * Manifests (worker/manifests): the six kinds parse (fixtures in test/fixtures/manifests, plus the
 * spec's deploy_service as a Workflow manifest); mistakes are issues at their line and column with
 * the fix; hostile YAML gives typed issues only; the registry resolves versions by semver, names
 * missing dependencies and cycles with their path, lists dependents, and exports JSON and Mermaid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parseManifest, type Manifest } from '../../../worker/manifests/parse.ts';
import { dependentsOf, graphJson, graphMermaid, keyOf, resolve } from '../../../worker/manifests/registry.ts';
import { WORKFLOW_ISSUE_CODES } from '../../../worker/workflow/issues.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/manifests/${name}`, import.meta.url), 'utf8');
const spec = readFileSync(new URL('../../fixtures/workflows/spec/deploy_service.yaml', import.meta.url), 'utf8');

function ok(text: string): Manifest {
  const r = parseManifest(text);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.path} ${e.line}:${e.column} ${e.code} ${e.message}`).join('\n'));
  return r.manifest;
}

function errors(text: string): { path: string; line: number; column: number; code: string; message: string }[] {
  const r = parseManifest(text);
  assert.equal(r.ok, false, 'expected issues');
  return r.ok ? [] : r.errors;
}

const ALL = ['tool-deploy.yaml', 'tool-notify.yaml', 'agent-reviewer.yaml', 'relic-git.yaml', 'monument-forge.yaml', 'kata-deploy.yaml'];

test('every kind parses; a Workflow manifest is the workflow file with a header', () => {
  const kinds = ALL.map((f) => ok(fixture(f)).kind);
  assert.deepEqual(kinds, ['Tool', 'Tool', 'Agent', 'Relic', 'Monument', 'Kata']);
  const wf = ok(`kind: Workflow\nimports:\n  - { kind: Tool, name: runner.deploy, version: ^1.0.0 }\n${spec}`);
  assert.equal(wf.kind, 'Workflow');
  if (wf.kind === 'Workflow') {
    assert.equal(wf.name, 'deploy_service');
    assert.deepEqual(wf.imports, [{ kind: 'Tool', name: 'runner.deploy', version: '^1.0.0' }]);
    assert.equal(wf.workflow.steps.length, 5);
  }
  const relic = ok(fixture('relic-git.yaml'));
  if (relic.kind === 'Relic') assert.equal(relic.health.expectStatus, 200, 'defaults are filled in');
});

test('mistakes are issues at their line and column, with the fix', () => {
  const misspelt = errors(fixture('tool-deploy.yaml').replace('parameters:', 'paramters:'));
  const unknown = misspelt.find((e) => e.code === 'unknown_key')!;
  assert.deepEqual([unknown.path, unknown.line, unknown.column], ['paramters', 7, 1]);
  assert.match(unknown.message, /did you mean "?parameters"?/);

  const kind = errors('kind: Tol\nname: x\nversion: 1.0.0\n');
  assert.deepEqual([kind[0]!.code, kind[0]!.line, kind[0]!.column], ['invalid_value', 1, 7]);
  assert.match(kind[0]!.message, /did you mean "Tool"\?$/);
  assert.equal(errors('name: x\n')[0]!.code, 'missing_key');
  assert.equal(errors('- a\n- b\n')[0]!.code, 'invalid_type');

  const noBlock = errors('kind: Tool\nname: t\nversion: 1.0.0\nruntime: x\nrunner: http\n');
  assert.ok(noBlock.some((e) => e.code === 'unknown_key' && e.line === 4));
  const relic = errors(fixture('relic-git.yaml').replace('http://127.0.0.1:8788/api', 'ftp://x'));
  assert.ok(relic.some((e) => e.path === 'endpoints.api' && e.line === 5), JSON.stringify(relic));
  const range = errors(fixture('monument-forge.yaml').replace('"^1.0.0"', '"one point oh"'));
  assert.ok(range.some((e) => e.path === 'components[0].version' && e.line === 5 && /range/.test(e.message)), JSON.stringify(range));
  const wf = errors(`kind: Workflow\n${spec.replace('type: decision', 'type: decison')}`);
  assert.ok(wf.some((e) => e.code === 'invalid_value' && /decision/.test(e.message)), 'the workflow validator reports inside a Workflow manifest');
});

test('hostile YAML gives typed issues only, never a throw', () => {
  const codes = new Set(Object.keys(WORKFLOW_ISSUE_CODES));
  const hostile = [
    'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nkind: Tool\n',
    `kind: Tool\nname: ${'['.repeat(200)}`,
    'kind: !!python/object:os.system Tool\n',
    'kind: Tool\nkind: Agent\n',
    `kind: Relic\nname: x\nversion: 1.0.0\nendpoints: { a: "javascript:alert(1)" }\nhealth: { url: "data:text/html,x" }\n`,
    '\u0000\u0001kind: Tool',
    'x'.repeat(300 * 1024),
    'kind: Tool\n__proto__: { polluted: true }\n',
  ];
  for (const text of hostile) {
    const r = parseManifest(text);
    assert.equal(r.ok, false, text.slice(0, 40));
    if (!r.ok) for (const e of r.errors) assert.ok(codes.has(e.code) && e.line >= 1 && e.column >= 1, `${e.code} ${e.message}`);
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  fc.assert(fc.property(fc.string({ maxLength: 300 }), fc.constantFrom(...ALL), fc.nat(), (junk, f, at) => {
    const base = fixture(f);
    const i = at % (base.length + 1);
    const r = parseManifest(base.slice(0, i) + junk + base.slice(i));
    if (!r.ok) for (const e of r.errors) assert.ok(codes.has(e.code), e.code);
  }), { numRuns: 300 });
});

test('the registry: highest satisfying version, missing needs and cycles with their path, dependents, JSON and Mermaid', () => {
  const wf = ok(`kind: Workflow\n${spec}`);
  const deploy1 = ok(fixture('tool-deploy.yaml'));
  const deploy2 = ok(fixture('tool-deploy.yaml').replace('version: 1.0.0', 'version: 1.4.0'));
  const deploy3 = ok(fixture('tool-deploy.yaml').replace('version: 1.0.0', 'version: 2.0.0'));
  const installed = [wf, deploy1, deploy2, deploy3, ...['tool-notify.yaml', 'agent-reviewer.yaml', 'relic-git.yaml', 'monument-forge.yaml', 'kata-deploy.yaml'].map((f) => ok(fixture(f)))];
  const kataWithRange = ok(fixture('kata-deploy.yaml').replace('workflow: deploy_service', 'workflow: deploy_service\nimports:\n  - { kind: Tool, name: runner.deploy, version: "^1.0.0" }'));
  const r = resolve([...installed.filter((m) => m.kind !== 'Kata'), kataWithRange]);
  assert.deepEqual(r.missing, [], JSON.stringify(r.missing));
  assert.deepEqual(r.cycles, []);
  const kataEdges = r.edges.get('Kata/deploy-service@1.2.0')!;
  assert.deepEqual(kataEdges.map((e) => e.to), ['Tool/runner.deploy@1.4.0', 'Workflow/deploy_service@1.0.0'], 'the highest version within ^1.0.0');
  assert.deepEqual(r.edges.get('Workflow/deploy_service@1.0.0')!.map((e) => [e.need.via, e.to]), [['steps.abort.runner', 'Tool/runner.notify@1.2.0'], ['steps.deploy.runner', 'Tool/runner.deploy@2.0.0']]);
  assert.deepEqual(dependentsOf(r, 'Tool/runner.notify@1.2.0'), ['Agent/code-reviewer@0.3.0', 'Kata/deploy-service@1.2.0', 'Monument/code-forge@1.0.0', 'Workflow/deploy_service@1.0.0']);

  const without = resolve(installed.filter((m) => m.kind !== 'Tool' || m.name !== 'runner.notify'));
  assert.deepEqual(without.missing.map((m) => [m.need.name, m.path]), [
    ['runner.notify', ['Monument/code-forge@1.0.0', 'Agent/code-reviewer@0.3.0']],
    ['runner.notify', ['Monument/code-forge@1.0.0', 'Kata/deploy-service@1.2.0', 'Workflow/deploy_service@1.0.0']],
  ], 'each missing need with its path from the top');

  const a = ok('kind: Tool\nname: a\nversion: 1.0.0\nrunner: transform\ntransform: { expression: "1" }\nimports: [{ kind: Tool, name: b }]\n');
  const b = ok('kind: Tool\nname: b\nversion: 1.0.0\nrunner: transform\ntransform: { expression: "1" }\nimports: [{ kind: Tool, name: c }]\n');
  const c = ok('kind: Tool\nname: c\nversion: 1.0.0\nrunner: transform\ntransform: { expression: "1" }\nimports: [{ kind: Tool, name: a }]\n');
  assert.deepEqual(resolve([c, b, a]).cycles, [['Tool/a@1.0.0', 'Tool/b@1.0.0', 'Tool/c@1.0.0', 'Tool/a@1.0.0']], 'one cycle, named along its edges');

  const json = graphJson(without);
  assert.equal(json.nodes.length, without.edges.size);
  assert.ok(json.edges.some((e) => e.to === null && e.need.startsWith('Tool/runner.notify')));
  const mermaid = graphMermaid(without);
  assert.match(mermaid, /^flowchart LR\n/);
  assert.match(mermaid, /missing: Tool\/runner\.notify \*"\]:::missing/);
  assert.equal(keyOf(deploy1), 'Tool/runner.deploy@1.0.0');
});

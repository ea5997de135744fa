/**
 * The kernel's manifest registry through the Node API (docs/manifests.md, "The registry"): one
 * event per applied change, the last good version kept while an edit is invalid, Workflow
 * manifests in the workflow library, the graph with missing needs and cycles, removal refused
 * while something depends on it, live validation, and resolution by name and range.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openKingdom } from '../../../../worker/node/index.ts';
import type { KingdomApi as Kingdom } from '../../../../worker/api.ts';

const fixture = (name: string): string => readFileSync(new URL(`../../../fixtures/manifests/${name}`, import.meta.url), 'utf8');
const specFlow = readFileSync(new URL('../../../fixtures/workflows/spec/deploy_service.yaml', import.meta.url), 'utf8');

let n = 0;
async function apply(k: Kingdom, source: string): Promise<{ ok: true; value: { kind: string; name: string; version: string; unchanged: boolean }; events: number } | { ok: false; code: string; message: string; details: Record<string, unknown> }> {
  const res = await k.command({ type: 'manifest.apply', payload: { source, origin: { via: 'editor' } }, idempotencyKey: `apply-${++n}` });
  if (!res.ok) return { ok: false, code: res.error.code, message: res.error.message, details: res.error.details as Record<string, unknown> };
  return { ok: true, value: res.value.value as { kind: string; name: string; version: string; unchanged: boolean }, events: res.value.events.length };
}

async function head(k: Kingdom): Promise<number> {
  const s = await k.status();
  assert.ok(s.ok, 'status answers');
  return s.value.headSeq;
}

async function query<T>(k: Kingdom, name: string, params: unknown): Promise<T> {
  const res = await k.query(name as 'manifest.list', params as never);
  assert.ok(res.ok, `${name} answers: ${res.ok ? '' : res.error.message}`);
  return res.value as T;
}

test('each applied change is one event; an unchanged source none; an invalid edit changes nothing and the last good version stays', async () => {
  const k = await openKingdom();
  try {
    const tool = fixture('tool-deploy.yaml');
    const first = await apply(k, tool);
    assert.ok(first.ok && first.events === 1 && !first.value.unchanged, 'a new manifest is one event');
    const again = await apply(k, tool);
    assert.ok(again.ok && again.events === 0 && again.value.unchanged, 'the same source again appends nothing');

    const edited = tool.replace('Deploy a service version', 'Deploy one service version');
    const changed = await apply(k, edited);
    assert.ok(changed.ok && changed.events === 1 && !changed.value.unchanged, 'a changed source is one event');

    const before = await head(k);
    const broken = await apply(k, edited.replace('parameters:', 'paramters:'));
    assert.ok(!broken.ok, 'an invalid edit is refused');
    assert.equal(broken.code, 'invalid_manifest');
    const issues = broken.details['issues'] as { line: number; column: number; message: string }[];
    assert.ok(issues.some((i) => i.line === 7 && i.column === 1 && /did you mean "parameters"/.test(i.message)), `the issue is at its line with the fix: ${JSON.stringify(issues)}`);
    assert.equal(await head(k), before, 'nothing was appended');
    const active = await query<{ source: string; version: string } | null>(k, 'manifest.get', { kind: 'Tool', name: 'runner.deploy' });
    assert.equal(active?.source, edited, 'the last good version stays active');
  } finally {
    await k.close();
  }
});

test('a Workflow manifest is saved to the workflow library (one home); the registry lists it with the Tools its steps name', async () => {
  const k = await openKingdom();
  try {
    const flow = `kind: Workflow\nimports:\n  - { kind: Tool, name: runner.notify, version: ^1.0.0 }\n${specFlow}`;
    const saved = await apply(k, flow);
    assert.ok(saved.ok && saved.value.kind === 'Workflow' && saved.events === 1, 'saved as one library revision');
    const library = await query<{ name: string }[]>(k, 'workflow.list', {});
    assert.deepEqual(library.map((w) => w.name), ['deploy_service']);
    const list = await query<{ kind: string; name: string }[]>(k, 'manifest.list', {});
    assert.deepEqual(list.map((m) => `${m.kind}/${m.name}`), ['Workflow/deploy_service']);

    const graph = await query<{ missing: { from: string; need: string; path: string[] }[] }>(k, 'manifest.graph', {});
    assert.deepEqual(graph.missing.map((m) => m.need).sort(), ['Tool/runner.deploy *', 'Tool/runner.notify ^1.0.0'], 'both runners are missing until their Tools are applied');

    assert.ok((await apply(k, fixture('tool-deploy.yaml'))).ok);
    assert.ok((await apply(k, fixture('tool-notify.yaml'))).ok);
    const after = await query<{ missing: unknown[]; edges: { from: string; to: string | null }[] }>(k, 'manifest.graph', {});
    assert.deepEqual(after.missing, [], 'the Tools meet both needs');
    assert.ok(after.edges.some((e) => e.from === 'Workflow/deploy_service@1.0.0' && e.to === 'Tool/runner.deploy@1.0.0'), 'runner.deploy resolves to the Tool');
    const mermaid = await query<{ mermaid: string }>(k, 'manifest.graph', { format: 'mermaid' });
    assert.match(mermaid.mermaid, /^flowchart LR\n/);
    assert.match(mermaid.mermaid, /Tool: runner\.deploy@1\.0\.0/);
  } finally {
    await k.close();
  }
});

test('a removal that leaves a need unmet is refused with what depends on it; another version that meets the range lets it go', async () => {
  const k = await openKingdom();
  try {
    assert.ok((await apply(k, fixture('tool-notify.yaml'))).ok);
    assert.ok((await apply(k, fixture('agent-reviewer.yaml'))).ok);
    const deps = await query<{ direct: string[]; breaks: string[] }>(k, 'manifest.dependents', { kind: 'Tool', name: 'runner.notify', version: '1.2.0' });
    assert.deepEqual(deps.direct, ['Agent/code-reviewer@0.3.0']);

    const before = await head(k);
    const refused = await k.command({ type: 'manifest.remove', payload: { kind: 'Tool', name: 'runner.notify', version: '1.2.0' }, idempotencyKey: 'rm-1' });
    assert.ok(!refused.ok, 'refused while the agent needs it');
    assert.equal(refused.error.code, 'has_dependents');
    assert.match(refused.error.message, /Agent\/code-reviewer@0\.3\.0/);
    assert.equal(await head(k), before, 'nothing changed');

    assert.ok((await apply(k, fixture('tool-notify.yaml').replace('version: 1.2.0', 'version: 1.3.0'))).ok);
    const removed = await k.command({ type: 'manifest.remove', payload: { kind: 'Tool', name: 'runner.notify', version: '1.2.0' }, idempotencyKey: 'rm-2' });
    assert.ok(removed.ok, 'another version meets the need, so the old one goes');
    const resolved = await query<{ version: string } | null>(k, 'manifest.resolve', { kind: 'Tool', name: 'runner.notify', range: '^1.0.0' });
    assert.equal(resolved?.version, '1.3.0');

    const missing = await k.command({ type: 'manifest.remove', payload: { kind: 'Tool', name: 'runner.notify', version: '9.0.0' }, idempotencyKey: 'rm-3' });
    assert.ok(!missing.ok && missing.error.code === 'not_found', 'an unknown version is not_found');
  } finally {
    await k.close();
  }
});

test('manifest.validate judges a draft without applying it: issues, or its change, needs, missing needs and cycles', async () => {
  const k = await openKingdom();
  try {
    assert.ok((await apply(k, fixture('tool-notify.yaml'))).ok);
    const before = await head(k);
    type Draft = { ok: boolean; change?: string; missing?: { need: string }[]; cycles?: string[][]; errors?: { line: number }[] };
    const same = await query<Draft>(k, 'manifest.validate', { source: fixture('tool-notify.yaml') });
    assert.equal(same.change, 'unchanged');
    const next = await query<Draft>(k, 'manifest.validate', { source: fixture('tool-notify.yaml').replace('version: 1.2.0', 'version: 2.0.0') });
    assert.equal(next.change, 'new_version');
    const agent = await query<Draft>(k, 'manifest.validate', { source: fixture('agent-reviewer.yaml').replace('tools: [runner.notify]', 'tools: [runner.notify, runner.page]') });
    assert.equal(agent.change, 'new');
    assert.deepEqual(agent.missing?.map((m) => m.need), ['Tool/runner.page *']);
    const loop = 'kind: Tool\nname: a.one\nversion: 1.0.0\nrunner: transform\ntransform: { expression: "1" }\nimports: [{ kind: Tool, name: runner.notify }]\n';
    const notifyBack = fixture('tool-notify.yaml').replace('kind: Tool', 'kind: Tool\nimports: [{ kind: Tool, name: a.one }]');
    assert.ok((await apply(k, loop)).ok);
    const cyc = await query<Draft>(k, 'manifest.validate', { source: notifyBack });
    assert.deepEqual(cyc.cycles, [['Tool/a.one@1.0.0', 'Tool/runner.notify@1.2.0', 'Tool/a.one@1.0.0']], 'the cycle is named along its edges');
    const bad = await query<Draft>(k, 'manifest.validate', { source: 'kind: Tol\nname: x\n' });
    assert.equal(bad.ok, false);
    assert.equal(bad.errors?.[0]?.line, 1);
    assert.equal(await head(k), before + 1, 'validation appended nothing (the one event is the a.one apply)');
  } finally {
    await k.close();
  }
});

test('a save with the same definition but other text (a comment, the canonical form) is a new revision with the same hash; the same text again saves nothing', async () => {
  const k = await openKingdom();
  try {
    const save = async (source: string, key: string) => {
      const res = await k.command({ type: 'workflow.save', payload: { source }, idempotencyKey: key });
      assert.ok(res.ok, `saved: ${res.ok ? '' : res.error.message}`);
      return res.value.value as { revision: number; hash: string; unchanged: boolean };
    };
    const first = await save(specFlow, 's1');
    const same = await save(specFlow, 's2');
    assert.ok(same.unchanged && same.revision === first.revision, 'the same text saves nothing');
    const commented = await save(`# reviewed by ops\n${specFlow}`, 's3');
    assert.ok(!commented.unchanged && commented.revision === first.revision + 1, 'the new text is the next revision');
    assert.equal(commented.hash, first.hash, 'with the same definition hash');
    const got = await query<{ source: string }>(k, 'workflow.get', { name: 'deploy_service' });
    assert.match(got.source, /^# reviewed by ops\n/, 'what the person typed is kept');
  } finally {
    await k.close();
  }
});

test('a Kata whose workflow is a plain library file exports as a pack (the workflow carried as a Workflow manifest)', async () => {
  const k = await openKingdom();
  try {
    for (const f of ['tool-deploy.yaml', 'tool-notify.yaml', 'kata-deploy.yaml']) assert.ok((await apply(k, fixture(f))).ok, f);
    const saved = await k.command({ type: 'workflow.save', payload: { source: specFlow }, idempotencyKey: 'plain-flow' });
    assert.ok(saved.ok, 'the spec workflow has no kind: header');
    const res = await k.query('realm.pack.export', { name: 'deploy-service' });
    assert.ok(res.ok, `exported: ${res.ok ? '' : res.error.message}`);
    const pack = res.value as { manifests: string[]; pack: string; entry: { name: string } };
    assert.deepEqual([...pack.manifests].sort(), ['Kata/deploy-service@1.2.0', 'Tool/runner.deploy@1.0.0', 'Tool/runner.notify@1.2.0', 'Workflow/deploy_service@1.0.0']);
    assert.match(pack.pack, /kind: Workflow\\nname: deploy_service|kind: Workflow\\n# workflows\/deploy_service.yaml/, 'the workflow travels with its header');
  } finally {
    await k.close();
  }
});

/**
 * The pure parts of the first run and the demo (src/lib/demo/): the first-screen decision, the
 * demo plan (open or create, its idempotency key and derived workspace id), the demo's content
 * (every workflow validates, `demo-release` fails once and then waits for a person, every wiki
 * link in the notes resolves to a note), the removal batch, and the guided path's reducer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { demoCommands, DEMO_DESCRIPTION, DEMO_NOTES, DEMO_RELEASE_SOURCE, DEMO_RETRY_SECONDS, DEMO_WORKFLOW, demoWorkflowSources, isDemoWorkspace } from '../../../src/lib/demo/content.ts';
import { firstScreen, planDemo, removalCommands, seededUuid, type FirstRunFacts, type KnownWorkspace } from '../../../src/lib/demo/plan.ts';
import { parseTour, TOUR_INITIAL, TOUR_STEPS, tourReduce, type TourState } from '../../../src/lib/demo/tour-steps.ts';
import { EXAMPLES } from '../../../src/lib/examples.ts';
import { parseWorkflow, type Workflow } from '../../../worker/workflow/index.ts';
import { wikiLinks } from '../../../worker/domains/forest/mentions.ts';

const none = { workflows: 0, sessions: 0, notes: 0, waiting: 0 };
const facts = (current: Partial<FirstRunFacts['current']>, elsewhere = false): FirstRunFacts => ({ current: { ...none, ...current }, elsewhere });

test('first screen: nobody has work → welcome; work → the work, the Inbox first', () => {
  assert.equal(firstScreen(facts({})), 'welcome');
  assert.equal(firstScreen(facts({}, true)), 'workspaces', 'the work is in another workspace');
  assert.equal(firstScreen(facts({ workflows: 3 })), 'workflows');
  assert.equal(firstScreen(facts({ workflows: 3, sessions: 2, waiting: 1 })), 'inbox');
  assert.equal(firstScreen(facts({ sessions: 1 })), 'sessions', 'sessions of inline workflows only');
  assert.equal(firstScreen(facts({ notes: 4 })), 'forest');
  assert.equal(firstScreen(facts({ notes: 4 }, true)), 'forest', 'the open workspace comes first');
});

const ws = (id: string, description: string, status: 'active' | 'archived' = 'active'): KnownWorkspace => ({ id, description, status });
const DEFAULT = ws('00000000-0000-4000-8000-000000000000', '');

test('demo plan: create the first demo under a key of this device; the same facts give the same plan', () => {
  const a = planDemo([DEFAULT], 'device-a');
  assert.deepEqual(a, { kind: 'create', key: 'kingdom-demo/device-a/1', workspaceId: seededUuid('kingdom-demo/device-a/1') });
  assert.deepEqual(planDemo([DEFAULT], 'device-a'), a, 'a second tab or a double click computes the same key and id');
  const b = planDemo([DEFAULT], 'device-b');
  assert.notEqual(b.workspaceId, a.workspaceId, 'two devices never derive the same workspace id');
});

test('demo plan: an active demo is opened, a removed one leads to a new demo', () => {
  assert.deepEqual(planDemo([DEFAULT, ws('d1', DEMO_DESCRIPTION)], 'dev'), { kind: 'open', workspaceId: 'd1' });
  const next = planDemo([DEFAULT, ws('d1', DEMO_DESCRIPTION, 'archived')], 'dev');
  assert.equal(next.kind, 'create');
  assert.equal(next.kind === 'create' && next.key, 'kingdom-demo/dev/2');
  assert.notEqual(next.workspaceId, seededUuid('kingdom-demo/dev/1'));
  assert.equal(planDemo([DEFAULT, ws('x', 'my release work')], 'dev').kind, 'create', 'a workspace without the mark is not a demo');
});

test('seeded ids are UUIDs (version 8) the kernel accepts, and deterministic', () => {
  const uuid = z.uuid();
  for (const seed of ['a', 'kingdom-demo/device/1', 'ü'.repeat(300)]) {
    const id = seededUuid(seed);
    assert.equal(uuid.safeParse(id).success, true, id);
    assert.equal(id[14], '8');
    assert.equal(seededUuid(seed), id);
  }
  assert.notEqual(seededUuid('a'), seededUuid('b'));
});

test('the demo workspace is marked as demo data', () => {
  assert.equal(isDemoWorkspace({ description: DEMO_DESCRIPTION }), true);
  assert.equal(isDemoWorkspace({ description: '' }), false);
  assert.ok(DEMO_DESCRIPTION.length <= 2000, 'fits the workspace description limit');
});

function parsed(source: string): Workflow {
  const r = parseWorkflow(source);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.path} ${e.line}:${e.column} ${e.message}`).join('\n'));
  return r.workflow;
}

test('every demo workflow validates: the examples and demo-release, names unique', () => {
  const names = demoWorkflowSources().map((s) => parsed(s).name);
  assert.deepEqual(names, [...EXAMPLES.map((e) => e.name), DEMO_WORKFLOW]);
  assert.equal(new Set(names).size, names.length);
});

test('demo-release: a check that fails once and passes on its retry, then an approval, then publish', () => {
  const w = parsed(DEMO_RELEASE_SOURCE);
  assert.deepEqual(w.steps.map((s) => s.id), ['prepare', 'check', 'sign_off', 'publish']);
  const check = w.steps.find((s) => s.id === 'check');
  assert.ok(check && check.type === 'task');
  assert.equal(check.runner, 'demo.flaky');
  assert.equal(check.with['failTimes'], 1, 'attempt 1 fails, attempt 2 succeeds');
  assert.ok(check.retry && check.retry.maxAttempts >= 2);
  assert.equal(check.retry.backoff, 'fixed');
  assert.equal(check.retry.initialDelay, DEMO_RETRY_SECONDS * 1000);
  const approval = w.steps.find((s) => s.id === 'sign_off');
  assert.ok(approval && approval.type === 'approval');
  assert.deepEqual(approval.dependsOn, ['check']);
});

test('demo notes: every [[wiki link]] resolves to a demo note, every note is linked, each has tags', () => {
  const titles = new Map(DEMO_NOTES.map((n) => [n.title.toLowerCase(), n.title]));
  assert.equal(titles.size, DEMO_NOTES.length, 'titles are unique');
  const linked = new Set<string>();
  for (const note of DEMO_NOTES) {
    const links = wikiLinks(note.body);
    assert.ok(links.length > 0, `${note.title} links somewhere`);
    for (const l of links) {
      assert.ok(titles.has(l.target.toLowerCase()), `${note.title}: [[${l.target}]] names no demo note`);
      assert.notEqual(l.target.toLowerCase(), note.title.toLowerCase(), `${note.title} links to itself`);
      linked.add(l.target.toLowerCase());
    }
    assert.ok(note.tags.length > 0, `${note.title} has tags`);
  }
  assert.deepEqual([...linked].sort(), [...titles.keys()].sort(), 'every note is mentioned by another');
});

test('demo commands: deterministic, in one workspace, keys unique and derived from the action key', () => {
  const id = seededUuid('k');
  const a = demoCommands(id, 'kingdom-demo/dev/1');
  assert.deepEqual(demoCommands(id, 'kingdom-demo/dev/1'), a, 'the same action gives the same commands');
  assert.equal(a[0]!.type, 'workspace.create');
  assert.equal(a.at(-1)!.type, 'session.start', 'the live session starts last (its result carries the session id)');
  assert.equal(a.filter((c) => c.type === 'workflow.save').length, EXAMPLES.length + 1);
  assert.equal(a.filter((c) => c.type === 'forest.node.create').length, DEMO_NOTES.length);
  const keys = a.map((c) => c.idempotencyKey!);
  assert.equal(new Set(keys).size, keys.length);
  for (const k of keys) assert.ok(k.startsWith('kingdom-demo/dev/1/') && k.length <= 200, k);
  for (const c of a) assert.equal((c.payload as { workspaceId: string }).workspaceId, id);
});

test('removal: cancel the unfinished sessions, then archive the workspace', () => {
  const cmds = removalCommands('w', ['s1', 's2'], 'key');
  assert.deepEqual(cmds.map((c) => c.type), ['session.cancel', 'session.cancel', 'workspace.archive']);
  assert.deepEqual(cmds.map((c) => c.idempotencyKey), ['key/cancel/0', 'key/cancel/1', 'key/archive']);
  assert.deepEqual(removalCommands('w', [], 'key').map((c) => c.type), ['workspace.archive']);
});

test('guided path: begin, next, back, finish, close, restart, hide', () => {
  assert.ok(TOUR_STEPS.length >= 3 && TOUR_STEPS.length <= 4);
  let s: TourState = tourReduce(TOUR_INITIAL, { type: 'begin', sessionId: 's1' });
  assert.deepEqual(s, { open: true, step: 0, done: false, sessionId: 's1' });
  assert.deepEqual(TOUR_STEPS[0]!.target(s.sessionId), { route: 'sessions', item: 's1' });
  s = tourReduce(s, { type: 'back' });
  assert.equal(s.step, 0, 'Back on the first step stays');
  for (let i = 1; i < TOUR_STEPS.length; i++) {
    s = tourReduce(s, { type: 'next' });
    assert.equal(s.step, i);
  }
  assert.deepEqual(TOUR_STEPS.find((x) => x.id === 'workflow')!.target(null), { route: 'workflows', item: DEMO_WORKFLOW });
  s = tourReduce(s, { type: 'back' });
  assert.equal(s.step, TOUR_STEPS.length - 2);
  s = tourReduce(tourReduce(s, { type: 'next' }), { type: 'next' });
  assert.deepEqual({ open: s.open, done: s.done }, { open: false, done: true }, 'Next on the last step finishes');
  assert.equal(tourReduce(s, { type: 'begin', sessionId: 's2' }).open, false, 'done: a new demo does not reopen it');
  const again = tourReduce(s, { type: 'restart', sessionId: 's2' });
  assert.deepEqual(again, { open: true, step: 0, done: true, sessionId: 's2' }, 'the banner restarts it');
  assert.deepEqual(tourReduce(again, { type: 'close' }), { ...again, open: false });
  const hidden = tourReduce(tourReduce(TOUR_INITIAL, { type: 'begin', sessionId: null }), { type: 'hide' });
  assert.deepEqual({ open: hidden.open, done: hidden.done }, { open: false, done: false }, 'removing the demo does not mark it seen');
});

test('guided path: stored state is read defensively', () => {
  assert.deepEqual(parseTour(null), TOUR_INITIAL);
  assert.deepEqual(parseTour('not json'), TOUR_INITIAL);
  assert.deepEqual(parseTour('[1]'), { ...TOUR_INITIAL });
  assert.deepEqual(parseTour(JSON.stringify({ open: true, step: 99, done: 'yes', sessionId: 5 })), { open: true, step: TOUR_STEPS.length - 1, done: false, sessionId: null });
  const s: TourState = { open: true, step: 2, done: false, sessionId: 'x' };
  assert.deepEqual(parseTour(JSON.stringify(s)), s);
});

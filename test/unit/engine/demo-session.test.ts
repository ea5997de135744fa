/**
 * "Try the demo" on a real kernel and engine (in memory, a manual clock for the retry delay): the
 * demo batch (src/lib/demo/content.ts) creates the marked workspace, its workflows and linked
 * notes, and a session of demo-release that fails its check once, retries it after 4 s and
 * succeeds, then waits for approval (in the Inbox) and finishes when approved. Repeating the batch
 * replays it (no second demo); the removal batch cancels an unfinished demo session and archives
 * the workspace, after which the plan makes a new demo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness } from './sessions/helpers.ts';
import { demoCommands, DEMO_NOTES, DEMO_RETRY_SECONDS, DEMO_WORKFLOW, demoWorkflowSources, isDemoWorkspace } from '../../../src/lib/demo/content.ts';
import { planDemo, removalCommands, type KnownWorkspace } from '../../../src/lib/demo/plan.ts';
import type { Json } from '../../../worker/kernel/errors.ts';

const DEVICE_TIMEOUT_MS = 15_000;

/** Poll (real time: demo.sleep uses real timers) until `fn` holds. */
async function eventually(h: Harness, fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + DEVICE_TIMEOUT_MS;
  while (Date.now() < end) {
    await h.settle();
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function createDemo(h: Harness): { workspaceId: string; sessionId: string; key: string } {
  const all = h.k.query('workspace.list', { includeArchived: true }) as KnownWorkspace[];
  const plan = planDemo(all, h.k.status().deviceId);
  assert.equal(plan.kind, 'create');
  if (plan.kind !== 'create') throw new Error('unreachable');
  const results = h.k.commandBatch(demoCommands(plan.workspaceId, plan.key));
  const sessionId = (results.at(-1)!.value as { sessionId: string }).sessionId;
  return { workspaceId: plan.workspaceId, sessionId, key: plan.key };
}

test('the demo: marked workspace, workflows, linked notes, and a live session that retries once and waits for approval', async () => {
  const h = await Harness.open();
  try {
    const { workspaceId, sessionId, key } = createDemo(h);
    assert.equal((h.k.query('session.list', { workspaceId, workflow: DEMO_WORKFLOW }) as { id: string }[])[0]?.id, sessionId);
    const list = h.k.query('workspace.list', {}) as (KnownWorkspace & { name: string })[];
    const demo = list.find((w) => w.id === workspaceId);
    assert.ok(demo && isDemoWorkspace(demo), 'the demo workspace exists and is marked');

    const workflows = h.k.query('workflow.list', { workspaceId }) as { name: string }[];
    assert.equal(workflows.length, demoWorkflowSources().length);
    const notes = h.k.query('forest.node.list', { workspaceId, limit: 50 }) as { nodes: { id: string; title: string; tags: string[] }[]; total: number };
    assert.equal(notes.total, DEMO_NOTES.length);
    for (const n of notes.nodes) {
      const detail = h.k.query('forest.node.get', { workspaceId, id: n.id }) as { mentions: { target: string; id: string | null }[] };
      assert.ok(detail.mentions.length > 0, `${n.title} has wiki links`);
      for (const m of detail.mentions) assert.ok(m.id, `${n.title}: [[${m.target}]] resolves in the kernel`);
    }
    assert.deepEqual((h.k.query('forest.tags', { workspaceId }) as { tag: string }[]).map((t) => t.tag).includes('release'), true);

    // Attempt 1 of check fails (retryable) and a fixed retry is due in 4 s.
    await eventually(h, () => h.step(sessionId, 'check').status === 'retrying', 'check to wait for its retry');
    const waiting = h.step(sessionId, 'check');
    assert.equal(waiting.attempt, 1);
    assert.equal(waiting.error?.type, 'flaky');
    assert.equal(Number(waiting.dueAt), h.clock.now() + DEMO_RETRY_SECONDS * 1000);
    assert.equal(h.get(sessionId).status, 'running');

    // The same action again (a double click, a second tab): replayed, no second demo.
    const again = h.k.commandBatch(demoCommands(workspaceId, key));
    assert.equal((again.at(-1)!.value as { sessionId: string }).sessionId, sessionId);
    assert.equal((h.k.query('workspace.list', {}) as unknown[]).length, list.length);
    assert.equal((h.k.query('session.list', { workspaceId }) as unknown[]).length, 1);
    assert.deepEqual(planDemo(h.k.query('workspace.list', { includeArchived: true }) as KnownWorkspace[], h.k.status().deviceId), { kind: 'open', workspaceId });

    await h.advance(DEMO_RETRY_SECONDS * 1000 - 1);
    await h.settle();
    assert.equal(h.step(sessionId, 'check').status, 'retrying', 'not before the delay');
    await h.advance(1);
    await eventually(h, () => h.get(sessionId).steps.some((s) => s.key === 'sign_off' && s.status === 'waiting'), 'the approval');
    const check = h.step(sessionId, 'check');
    assert.deepEqual({ status: check.status, attempt: check.attempt }, { status: 'succeeded', attempt: 2 });
    const inbox = h.k.query('session.inbox', { workspaceId }) as { approvals: { sessionId: string; step: string; prompt: string }[] };
    assert.deepEqual(inbox.approvals.map((a) => [a.sessionId, a.step]), [[sessionId, 'sign_off']]);
    assert.match(inbox.approvals[0]!.prompt, /Ship release 2\.4\.0\? The check passed on attempt 2\./);
    assert.deepEqual((h.k.query('session.inbox', {}) as { approvals: unknown[] }).approvals, [], 'the default workspace sees none of it');

    h.cmd('session.approve', { sessionId, step: 'sign_off', comment: 'ship it' });
    await eventually(h, () => h.get(sessionId).status === 'succeeded', 'the session to finish');
    assert.match(String((h.get(sessionId).output as { [k: string]: Json })['note']), /^Release 2\.4\.0 shipped, approved by /);
    assert.equal(h.get(sessionId).steps.find((s) => s.key === 'publish')?.status, 'succeeded');
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

test('removing the demo cancels its unfinished session and archives it; the next "Try the demo" makes a new one', async () => {
  const h = await Harness.open();
  try {
    const first = createDemo(h);
    await eventually(h, () => h.step(first.sessionId, 'check').status === 'retrying', 'the retry wait');
    h.k.commandBatch(removalCommands(first.workspaceId, [first.sessionId], 'remove-1'));
    assert.equal(h.get(first.sessionId).status, 'cancelled');
    const active = h.k.query('workspace.list', {}) as KnownWorkspace[];
    assert.equal(active.some((w) => w.id === first.workspaceId), false, 'gone from the list');
    const all = h.k.query('workspace.list', { includeArchived: true }) as KnownWorkspace[];
    assert.equal(all.find((w) => w.id === first.workspaceId)?.status, 'archived', 'archived, not erased (the log is append-only)');
    await h.advance(DEMO_RETRY_SECONDS * 1000);
    await h.settle();
    assert.equal(h.get(first.sessionId).status, 'cancelled', 'the retry timer does not bring it back');

    const second = createDemo(h);
    assert.notEqual(second.workspaceId, first.workspaceId);
    assert.notEqual(second.key, first.key);
    assert.equal((h.k.query('workspace.list', {}) as KnownWorkspace[]).filter(isDemoWorkspace).length, 1);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

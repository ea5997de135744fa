/**
 * A workspace as one file another person opens (decision 40, docs/workspace-file.md), on real
 * SQLite files through the Node VFS: database A runs the example workflows in workspace "Acme"
 * (finished, approved, waiting and large-output runs, Forest notes and a link, a secret), exports
 * it; a second, fresh database B opens the file.
 *
 * Checked:
 * 1. B shows the same sessions (names, statuses, inputs, outputs, step rows, timelines, the large
 *    output as a blob), workflows, projects, Forest notes and links as A, through the documented
 *    queries, under the copy's own ids (every id of the original remapped).
 * 2. Only Acme leaves: nothing of the default workspace, no secret value (plain and gzip).
 * 3. B's verify() stays green; its projections equal a rebuild; importing again writes nothing.
 * 4. The copy is read-only (imported_copy), labelled with where it came from, not run by B's
 *    engine, and removable: gone from every list, verify green, and importable again afterwards.
 * 5. The copy reaches B's other devices by sync like any event, with the same ids.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import type { WorkspaceFileExport, WorkspaceImport } from '../../../worker/kernel/workspace-file/format.ts';
import { remapText } from '../../../worker/kernel/workspace-file/remap.ts';
import { Harness, START } from '../engine/sessions/helpers.ts';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { acme, SECRET_VALUE, type AcmeFixture } from '../../helpers/workspace-file.ts';
import { removeDir, tempDir } from '../../helpers/kernel.ts';

const POSITIONS = new Set(['seq', 'firstSeq', 'lastSeq', 'owner', 'stored', 'importedAt', 'updatedAt']);

/** What a person sees of workspace `ws` through the documented queries, positions left out. */
function view(k: Kernel, ws: string): unknown {
  const q = (name: string, params: unknown) => k.query(name, params) as never;
  // Ordered by name and title: runs started in one millisecond are listed by id, and ids differ.
  const sessions = (q('session.list', { workspaceId: ws }) as { id: string; name: string }[]).sort((x, y) => x.name.localeCompare(y.name)).map((s) => {
    const detail = q('session.get', { sessionId: s.id }) as { steps: unknown[]; source: string };
    const state = q('session.state', { sessionId: s.id }) as { state: unknown; events: unknown[] };
    return { summary: s, steps: detail.steps, source: detail.source, state: state.state, timeline: state.events };
  });
  const nodes = (q('forest.node.list', { workspaceId: ws, limit: 100 }) as { nodes: { id: string; title: string }[] }).nodes.sort((x, y) => x.title.localeCompare(y.title)).map((n) => ({
    node: q('forest.node.get', { workspaceId: ws, id: n.id }),
    links: q('forest.links', { workspaceId: ws, id: n.id }),
  }));
  const workflows = q('workflow.list', { workspaceId: ws });
  const projects = q('project.list', { workspaceId: ws });
  const secrets = q('secret.list', { workspaceId: ws });
  const providers = q('llm.provider.list', { workspaceId: ws });
  return strip({ sessions, nodes, workflows, projects, secrets, providers });
}

function strip(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(strip);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => !POSITIONS.has(k)).map(([k, x]) => [k, strip(x)]));
  return v;
}

const text = (f: WorkspaceFileExport) => (f.gzip ? gunzipSync(f.bytes) : Buffer.from(f.bytes)).toString('utf8');
const count = (k: Kernel, sql: string) => Number(k.sql.value(sql));

describe('workspace file: export, open in another database, see the same runs', () => {
  let dir: string;
  let a: AcmeFixture;
  let b: Harness;
  let file: WorkspaceFileExport;
  let imported: WorkspaceImport;

  before(async () => {
    dir = tempDir('kingdom-wsfile-');
    a = await acme(dir);
    file = await a.h.k.exportWorkspace({ id: a.ws, name: 'Acme', description: 'Launch work' });
    // B's clock is a day ahead of A's: the copy must keep the original times, not B's.
    b = await Harness.open({ file: join(dir, 'b.sqlite'), clock: new ManualClock(START + 86_400_000) });
    imported = await b.k.importWorkspace(file.bytes);
    await b.settle();
  });
  after(async () => {
    await a?.h.close();
    await b?.close();
    removeDir(dir);
  });

  test('B shows the same sessions, timelines, outputs, workflows and Forest notes as A, under the copy\'s ids', () => {
    assert.equal(file.gzip, true);
    assert.match(file.fileName, /^acme-\d{4}-\d\d-\d\d\.kingdom-workspace\.json\.gz$/);
    assert.notEqual(imported.workspaceId, a.ws);
    const original = view(a.h.k, a.ws);
    const copy = view(b.k, imported.workspaceId);
    // Every id of the original, remapped as the import does, is the copy's id: the same content.
    assert.deepEqual(copy, JSON.parse(remapText(JSON.stringify(original), imported.importId)));
    const sessions = b.k.query('session.list', { workspaceId: imported.workspaceId }) as { name: string; status: string; waiting: number }[];
    assert.deepEqual(sessions.map((s) => `${s.name} ${s.status}${s.waiting ? ' waiting' : ''}`).sort(),
      ['approval #1 succeeded', 'approval #2 running waiting', 'big #1 succeeded', 'hello #1 succeeded', 'secretive #1 succeeded']);
    const notes = (b.k.query('forest.node.list', { workspaceId: imported.workspaceId, limit: 100 }) as { nodes: { title: string }[] }).nodes.map((n) => n.title);
    assert.ok(notes.includes('Launch plan') && notes.includes('Risks') && notes.filter((t) => / run /.test(t)).length === 4, notes.join(', '));
  });

  test('the large output travels as a blob, and only Acme leaves', () => {
    const big = b.k.query('session.list', { workspaceId: imported.workspaceId, workflow: 'big' }) as { id: string }[];
    const step = (b.k.query('session.get', { sessionId: big[0]!.id }) as { steps: { artifact: { hash: string } | null }[] }).steps[0]!;
    assert.ok(step.artifact, 'the big output is an artifact');
    const blob = b.k.query('artifact.get', { hash: step.artifact.hash }) as { data: string } | null;
    assert.equal(blob?.data, 'x'.repeat(20_000));
    assert.equal(file.blobs, 1);
    const json = text(file);
    assert.ok(!json.includes('Default note') && !json.includes(a.sessions.elsewhere), 'nothing of the default workspace');
    assert.ok(!/"type":"(device|sync|kernel)\./.test(json), 'no device, sync or kernel event');
  });

  test('no secret value is in the file, compressed or not', async () => {
    assert.ok(!text(file).includes(SECRET_VALUE));
    assert.ok(!Buffer.from(file.bytes).includes(SECRET_VALUE));
    const plain = await a.h.k.exportWorkspace({ id: a.ws, name: 'Acme' }, { gzip: false });
    assert.equal(plain.gzip, false);
    assert.ok(text(plain).includes('"secret.set"') && text(plain).includes('token=[secret:TOKEN]'), 'the secret\'s name and the redacted use are there');
    assert.ok(!text(plain).includes(SECRET_VALUE), 'its value is not');
    const secrets = b.k.query('secret.list', { workspaceId: imported.workspaceId }) as { name: string; updatedAt: string; stored: boolean }[];
    assert.deepEqual(secrets, [{ name: 'TOKEN', updatedAt: secrets[0]!.updatedAt, stored: false }]);
  });

  test('B verifies, its projections equal a rebuild, and the import is one audited batch', async () => {
    const report = await b.k.verify();
    assert.equal(report.ok, true, JSON.stringify(report.broken));
    assert.equal(count(b.k, "SELECT count(*) FROM events WHERE type = 'kernel.event_imported'"), imported.events);
    const audit = b.k.auditEntries(0, 1000).filter((e) => e.action === 'workspace.imported');
    assert.equal(audit.length, 1);
    assert.ok(b.k.rebuild().projections.every((p) => p.identical), 'rebuilt projections are identical');
  });

  test('importing the same file again writes nothing', async () => {
    const head = b.k.status().headSeq;
    const again = await b.k.importWorkspace(file.bytes);
    assert.equal(again.alreadyImported, true);
    assert.equal(again.workspaceId, imported.workspaceId);
    assert.equal(b.k.status().headSeq, head);
    assert.equal((b.k.query('workspace.list', {}) as unknown[]).length, 2);
  });

  test('the copy is labelled, read-only, and not run by B\'s engine', async () => {
    const w = (b.k.query('workspace.list', {}) as { id: string; name: string; imported: { source: { device: string; keyId: string }; exportedAt: string } | null }[])
      .find((x) => x.id === imported.workspaceId)!;
    assert.equal(w.name, 'Acme');
    assert.equal(w.imported?.source.device, a.h.k.deviceId);
    assert.equal(w.imported?.source.keyId, a.h.k.status().keyId);
    const waiting = (b.k.query('session.list', { workspaceId: imported.workspaceId, status: 'waiting' }) as { id: string }[])[0]!;
    const refused = (type: string, payload: unknown) => assert.throws(() => b.cmd(type, payload), (e: { code?: string }) => e.code === 'imported_copy', type);
    refused('session.approve', { sessionId: waiting.id, step: 'sign_off' });
    refused('session.cancel', { sessionId: waiting.id });
    refused('workspace.rename', { workspaceId: imported.workspaceId, name: 'Mine now' });
    refused('session.start', { workspaceId: imported.workspaceId, source: 'name: x\nversion: 1.0.0\nsteps:\n  - id: a\n    type: task\n    runner: noop\n' });
    refused('secret.delete', { workspaceId: imported.workspaceId, name: 'TOKEN' });
    refused('forest.node.create', { workspaceId: imported.workspaceId, title: 'mine' });
    const note = (b.k.query('forest.node.list', { workspaceId: imported.workspaceId, tag: 'launch' }) as { nodes: { id: string }[] }).nodes[0]!;
    refused('forest.node.update', { nodeId: note.id, title: 'changed' });
    await b.settle();
    assert.equal((b.k.query('session.get', { sessionId: waiting.id }) as { status: string }).status, 'running', 'still waiting, as in the original');
    assert.deepEqual(b.k.query('session.active', { owners: b.k.ownDevices() }), []);
  });

  test('the copy reaches B\'s other devices by sync, with the same ids', async () => {
    const c = await Harness.open();
    try {
      await c.k.ingest(b.k.exportChain(b.k.deviceId));
      assert.deepEqual(view(c.k, imported.workspaceId), view(b.k, imported.workspaceId));
    } finally {
      await c.close();
    }
  });

  test('importing into the database it came from makes a separate copy; A\'s own runs are untouched', async () => {
    const before = view(a.h.k, a.ws);
    const self = await a.h.k.importWorkspace(file.bytes);
    await a.h.settle();
    assert.notEqual(self.workspaceId, a.ws);
    assert.deepEqual(view(a.h.k, a.ws), before);
    assert.deepEqual(view(a.h.k, self.workspaceId), JSON.parse(remapText(JSON.stringify(before), self.importId)));
    assert.equal((await a.h.k.verify()).ok, true);
  });

  test('removing the copy takes it out of every list; verify stays green; the file can be opened again', async () => {
    const r = b.k.command({ type: 'workspace.remove_copy', payload: { workspaceId: imported.workspaceId }, idempotencyKey: 'remove-1' });
    assert.equal(r.events.length, 1);
    assert.ok(!(b.k.query('workspace.list', {}) as { id: string }[]).some((w) => w.id === imported.workspaceId));
    assert.deepEqual(b.k.query('session.list', { workspaceId: imported.workspaceId }), []);
    assert.equal((b.k.query('forest.node.list', { workspaceId: imported.workspaceId }) as { total: number }).total, 0);
    assert.equal((await b.k.verify()).ok, true);
    assert.ok(b.k.rebuild().projections.every((p) => p.identical), 'removal and rebuild agree');
    assert.throws(() => b.cmd('workspace.remove_copy', { workspaceId: imported.workspaceId }), (e: { code?: string }) => e.code === 'not_found');
    const again = await b.k.importWorkspace(file.bytes);
    assert.equal(again.alreadyImported, false);
    assert.notEqual(again.workspaceId, imported.workspaceId);
    assert.deepEqual(view(b.k, again.workspaceId), JSON.parse(remapText(JSON.stringify(view(a.h.k, a.ws)), again.importId)));
  });
});

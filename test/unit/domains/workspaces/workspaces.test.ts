/**
 * The workspace slice (worker/domains/workspaces): workspaces and projects.
 *
 * Invariants checked:
 * 1. Create/rename/archive/list work for workspaces, create/rename/archive/list for projects.
 * 2. Names are unique case-insensitively among ACTIVE entities (per workspace for projects).
 * 3. Archived entities refuse every change with `archived`; unknown ids give `not_found`.
 * 4. The default workspace exists from the start (no event), is listed first and cannot be
 *    archived; opening a workspace is client state (no `workspace.open` command any more).
 * 5. Archiving writes an audit entry pointing at its event.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { DEFAULT_WORKSPACE_ID, type Project, type Workspace } from '../../../../worker/domains/workspaces/index.ts';
import { catchError, createProject, createWorkspace, eventCount, FIXED_MS, memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';

async function withMem<T>(fn: (k: Kernel) => T | Promise<T>): Promise<T> {
  const k = await memKernel({ clock: () => FIXED_MS });
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

function cmd(k: Kernel, type: string, payload: Record<string, unknown>) {
  return k.command({ type, payload, idempotencyKey: newKey() });
}

function expectCode(fn: () => unknown, code: string): KernelError {
  const err = catchError(fn);
  assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

const getWs = (k: Kernel, workspaceId: string) => k.query('workspace.get', { workspaceId }) as Workspace | null;
const getPr = (k: Kernel, projectId: string) => k.query('project.get', { projectId }) as Project | null;
const listWs = (k: Kernel, includeArchived = false) => k.query('workspace.list', { includeArchived }) as Workspace[];
const listPr = (k: Kernel, workspaceId: string, includeArchived = false) => k.query('project.list', { workspaceId, includeArchived }) as Project[];

describe('workspaces', () => {
  test('create returns the new id and the workspace is readable with version 1', () =>
    withMem((k) => {
      const r = cmd(k, 'workspace.create', { name: 'Acme', description: 'Rockets' });
      const id = (r.value as { workspaceId: string }).workspaceId;
      assert.equal(r.events[0]!.stream, `workspace:${id}`);
      const w = getWs(k, id)!;
      assert.equal(w.name, 'Acme');
      assert.equal(w.description, 'Rockets');
      assert.equal(w.status, 'active');
      assert.equal(w.version, 1);
      assert.equal(w.createdAt, new Date(FIXED_MS).toISOString());
      assert.equal(w.isDefault, false);
      assert.equal(w.projectCount, 0);
    }));

  test('create with a client-chosen id uses it, and a second create with that id is already_exists', () =>
    withMem((k) => {
      const id = crypto.randomUUID();
      cmd(k, 'workspace.create', { workspaceId: id, name: 'Acme' });
      assert.equal(getWs(k, id)!.name, 'Acme');
      const err = expectCode(() => cmd(k, 'workspace.create', { workspaceId: id, name: 'Other' }), 'already_exists');
      assert.equal(err.details['field'], 'payload.workspaceId');
    }));

  test('names are trimmed before they are stored', () =>
    withMem((k) => {
      const id = createWorkspace(k, '  Acme  ');
      assert.equal(getWs(k, id)!.name, 'Acme');
    }));

  test('empty, too long and control-character names are refused with invalid_payload', () =>
    withMem((k) => {
      for (const name of ['', '   ', 'x'.repeat(121), 'a\u0000b', 'tab\there']) {
        expectCode(() => cmd(k, 'workspace.create', { name }), 'invalid_payload');
      }
    }));

  test('rename changes the name and bumps the version', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      const r = cmd(k, 'workspace.rename', { workspaceId: id, name: 'Acme Corp' });
      assert.equal(r.streamVersion, 2);
      const e = k.readEvents(r.events[0]!.seq - 1, 1)[0]!;
      assert.deepEqual(e.payload, { workspaceId: id, name: 'Acme Corp', previousName: 'Acme' });
      assert.equal(getWs(k, id)!.name, 'Acme Corp');
      assert.equal(getWs(k, id)!.version, 2);
    }));

  test('renaming to the same name appends nothing', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      const before = eventCount(k);
      const r = cmd(k, 'workspace.rename', { workspaceId: id, name: 'Acme' });
      assert.deepEqual(r.events, []);
      assert.equal(eventCount(k), before);
    }));

  test('renaming to a different case of its own name is allowed', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      cmd(k, 'workspace.rename', { workspaceId: id, name: 'ACME' });
      assert.equal(getWs(k, id)!.name, 'ACME');
    }));

  test('names are unique among active workspaces, case-insensitively, on create', () =>
    withMem((k) => {
      const first = createWorkspace(k, 'Acme');
      const err = expectCode(() => cmd(k, 'workspace.create', { name: 'aCME' }), 'already_exists');
      assert.equal(err.details['existingId'], first);
      assert.equal(err.details['field'], 'payload.name');
    }));

  test('names are unique among active workspaces, case-insensitively, on rename', () =>
    withMem((k) => {
      createWorkspace(k, 'Acme');
      const other = createWorkspace(k, 'Beta');
      expectCode(() => cmd(k, 'workspace.rename', { workspaceId: other, name: 'ACME' }), 'already_exists');
    }));

  test('an archived workspace frees its name', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      cmd(k, 'workspace.archive', { workspaceId: id });
      const again = createWorkspace(k, 'acme');
      assert.notEqual(again, id);
    }));

  test('archive marks the workspace archived and hides it from the default list', () =>
    withMem((k) => {
      const a = createWorkspace(k, 'A');
      const b = createWorkspace(k, 'B');
      cmd(k, 'workspace.archive', { workspaceId: a });
      assert.equal(getWs(k, a)!.status, 'archived');
      assert.deepEqual(listWs(k).map((w) => w.id), [DEFAULT_WORKSPACE_ID, b]);
      assert.deepEqual(new Set(listWs(k, true).map((w) => w.id)), new Set([DEFAULT_WORKSPACE_ID, a, b]));
    }));

  test('an archived workspace refuses rename and archive with archived', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      cmd(k, 'workspace.archive', { workspaceId: id });
      const before = eventCount(k);
      expectCode(() => cmd(k, 'workspace.rename', { workspaceId: id, name: 'New' }), 'archived');
      expectCode(() => cmd(k, 'workspace.archive', { workspaceId: id }), 'archived');
      assert.equal(eventCount(k), before);
    }));

  test('commands on an unknown workspace id are refused with not_found', () =>
    withMem((k) => {
      const ghost = crypto.randomUUID();
      expectCode(() => cmd(k, 'workspace.archive', { workspaceId: ghost }), 'not_found');
      expectCode(() => cmd(k, 'workspace.rename', { workspaceId: ghost, name: 'x' }), 'not_found');
      assert.equal(getWs(k, ghost), null);
    }));

  test('a malformed workspace id is refused with invalid_payload', () =>
    withMem((k) => {
      expectCode(() => cmd(k, 'workspace.archive', { workspaceId: 'not-a-uuid' }), 'invalid_payload');
    }));

  test('the default workspace exists in a fresh kernel, with no event, and is listed first', () =>
    withMem((k) => {
      assert.equal(k.readEvents(0, 100).filter((e) => e.type.startsWith('workspace.')).length, 0);
      const d = getWs(k, DEFAULT_WORKSPACE_ID)!;
      assert.equal(d.name, 'Default');
      assert.equal(d.status, 'active');
      assert.equal(d.isDefault, true);
      assert.equal(d.version, 0);
      const a = createWorkspace(k, 'A');
      const z = createWorkspace(k, 'Z');
      const b = createWorkspace(k, 'b');
      assert.deepEqual(listWs(k).map((w) => w.id), [DEFAULT_WORKSPACE_ID, a, b, z], 'default first, then by name case-insensitively');
    }));

  test('the default workspace can be renamed but not archived, and survives a rebuild', () =>
    withMem((k) => {
      cmd(k, 'workspace.rename', { workspaceId: DEFAULT_WORKSPACE_ID, name: 'Home' });
      expectCode(() => cmd(k, 'workspace.archive', { workspaceId: DEFAULT_WORKSPACE_ID }), 'invalid_state');
      k.rebuild();
      const d = getWs(k, DEFAULT_WORKSPACE_ID)!;
      assert.equal(d.name, 'Home');
      assert.equal(d.version, 1);
      expectCode(() => createWorkspace(k, 'home'), 'already_exists');
    }));

  test('opening a workspace is client state: there is no workspace.open command or workspace.current query', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'A');
      expectCode(() => cmd(k, 'workspace.open', { workspaceId: id }), 'unknown_command');
      expectCode(() => k.query('workspace.current', {}), 'unknown_query');
    }));

  test('archive writes an audit entry pointing at its event', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      const r = cmd(k, 'workspace.archive', { workspaceId: id });
      const ev = r.events[0]!;
      const entry = k.auditEntries().at(-1)!;
      assert.equal(entry.action, 'workspace.archived');
      assert.equal(entry.eventSeq, ev.seq);
      assert.equal(entry.eventId, ev.id);
      assert.equal(entry.actor, 'user');
      assert.equal(entry.at, new Date(FIXED_MS).toISOString());
    }));

  test('non-privileged commands write no audit entry', () =>
    withMem((k) => {
      // The device's key registration (audited) comes with its first write: not these commands'.
      const audited = () => k.auditEntries().filter((a) => a.action !== 'device.key_registered').length;
      const before = audited();
      const id = createWorkspace(k, 'Acme');
      cmd(k, 'workspace.rename', { workspaceId: id, name: 'B' });
      createProject(k, id, 'P');
      assert.equal(audited(), before);
    }));
});

describe('projects', () => {
  test('create, rename and list projects of a workspace', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p1 = createProject(k, w, 'Zeta');
      const p2 = createProject(k, w, 'alpha');
      assert.deepEqual(listPr(k, w).map((p) => p.id), [p2, p1], 'sorted by name, case-insensitively');
      cmd(k, 'project.rename', { projectId: p1, name: 'Beta' });
      const p = getPr(k, p1)!;
      assert.equal(p.name, 'Beta');
      assert.equal(p.workspaceId, w);
      assert.equal(p.version, 2);
      assert.equal(getWs(k, w)!.projectCount, 2);
    }));

  test('a project in an unknown workspace is refused with not_found', () =>
    withMem((k) => {
      const before = eventCount(k);
      const err = expectCode(() => cmd(k, 'project.create', { workspaceId: crypto.randomUUID(), name: 'P' }), 'not_found');
      assert.equal(err.details['field'], 'payload.workspaceId');
      assert.equal(eventCount(k), before);
    }));

  test('a project in an archived workspace is refused with archived', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      cmd(k, 'workspace.archive', { workspaceId: w });
      expectCode(() => cmd(k, 'project.create', { workspaceId: w, name: 'P' }), 'archived');
    }));

  test('project names are unique among the active projects of one workspace, case-insensitively', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p = createProject(k, w, 'Launch');
      expectCode(() => cmd(k, 'project.create', { workspaceId: w, name: 'LAUNCH' }), 'already_exists');
      const q = createProject(k, w, 'Other');
      expectCode(() => cmd(k, 'project.rename', { projectId: q, name: 'launch' }), 'already_exists');
      cmd(k, 'project.archive', { projectId: p });
      createProject(k, w, 'launch');
    }));

  test('the same project name may be used in two workspaces', () =>
    withMem((k) => {
      const a = createWorkspace(k, 'A');
      const b = createWorkspace(k, 'B');
      createProject(k, a, 'Launch');
      createProject(k, b, 'Launch');
      assert.equal(listPr(k, a).length, 1);
      assert.equal(listPr(k, b).length, 1);
    }));

  test('an archived project refuses rename and archive with archived', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p = createProject(k, w, 'P');
      cmd(k, 'project.archive', { projectId: p });
      const before = eventCount(k);
      expectCode(() => cmd(k, 'project.rename', { projectId: p, name: 'Q' }), 'archived');
      expectCode(() => cmd(k, 'project.archive', { projectId: p }), 'archived');
      assert.equal(eventCount(k), before);
    }));

  test('archived projects are listed only when asked and do not count in projectCount', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p = createProject(k, w, 'P');
      const q = createProject(k, w, 'Q');
      cmd(k, 'project.archive', { projectId: p });
      assert.deepEqual(listPr(k, w).map((x) => x.id), [q]);
      assert.deepEqual(listPr(k, w, true).map((x) => x.id), [q, p], 'active first');
      assert.equal(getWs(k, w)!.projectCount, 1);
    }));

  test('commands on an unknown project id are refused with not_found', () =>
    withMem((k) => {
      const ghost = crypto.randomUUID();
      expectCode(() => cmd(k, 'project.rename', { projectId: ghost, name: 'x' }), 'not_found');
      expectCode(() => cmd(k, 'project.archive', { projectId: ghost }), 'not_found');
      assert.equal(getPr(k, ghost), null);
    }));

  test('project archive writes an audit entry pointing at its event', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p = createProject(k, w, 'P');
      const r = cmd(k, 'project.archive', { projectId: p });
      const entry = k.auditEntries().at(-1)!;
      assert.equal(entry.action, 'project.archived');
      assert.equal(entry.eventSeq, r.events[0]!.seq);
      assert.equal(entry.eventId, r.events[0]!.id);
      const e = k.readEvents(r.events[0]!.seq - 1, 1)[0]!;
      assert.deepEqual(e.payload, { projectId: p, workspaceId: w });
    }));

  test('projects of an archived workspace stay readable', () =>
    withMem((k) => {
      const w = createWorkspace(k, 'W');
      const p = createProject(k, w, 'P');
      cmd(k, 'workspace.archive', { workspaceId: w });
      assert.equal(getPr(k, p)!.name, 'P');
      assert.deepEqual(listPr(k, w).map((x) => x.id), [p]);
    }));
});

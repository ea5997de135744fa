/**
 * Upgrading to workspace scope: a log and a database written before workspaces scoped anything.
 *
 * Invariants checked:
 * 1. `test/fixtures/logs/pre-workspaces-v1.jsonl` (written by commit 81d1840: every workflow,
 *    session, Forest, secret and provider event at version 1, without workspaceId) rebuilds with
 *    all of it in the default workspace, which workspace.list shows first; a workspace created in
 *    that old log is empty.
 * 2. Stored events are never rewritten: the events table still holds v1 payloads without
 *    workspaceId; reading through the kernel lifts them (v2, workspaceId = the default workspace).
 * 3. Work goes on where it was: a new revision of an old workflow continues its revision count; a
 *    new session of it starts in the default workspace.
 * 4. Schema migration 3 moves existing secret values into the default workspace.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WORKSPACE_ID } from '../../../../worker/domains/workspaces/index.ts';
import { readSecrets } from '../../../../worker/domains/secrets/index.ts';
import { memoryAdapter } from '../../../../worker/kernel/db/memory-adapter.ts';
import { migrate, MIGRATIONS } from '../../../../worker/kernel/db/migrations.ts';
import { kernelFromLog, readGoldenLog } from '../../../helpers/golden-log.ts';
import { newKey, type Kernel } from '../../../helpers/kernel.ts';

const SCOPED_V1 = ['workflow.saved', 'workflow.archived', 'session.started', 'forest.node_created', 'secret.set', 'secret.deleted', 'llm.provider_set', 'llm.provider_deleted'];

async function withOldLog<T>(fn: (k: Kernel) => T | Promise<T>): Promise<T> {
  const { events } = readGoldenLog('pre-workspaces-v1');
  const k = await kernelFromLog(events);
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

describe('upgrade to workspace scope', () => {
  test('the old log is what this test expects: every scoped event at v1, without workspaceId', () => {
    const { events } = readGoldenLog('pre-workspaces-v1');
    const scoped = events.filter((e) => SCOPED_V1.includes(e.type));
    assert.deepEqual(new Set(scoped.map((e) => e.type)), new Set(SCOPED_V1));
    for (const e of scoped) {
      assert.equal(e.v, 1, `${e.type} seq ${e.seq}`);
      assert.equal('workspaceId' in (e.payload as object), false);
    }
  });

  test('an old log rebuilds with everything in the default workspace; its old workspace stays empty', () =>
    withOldLog((k) => {
      const workspaces = k.query('workspace.list', {}) as { id: string; name: string; isDefault: boolean }[];
      assert.deepEqual(workspaces.map((w) => [w.name, w.isDefault]), [['Default', true], ['Acme', false]]);
      const acme = workspaces[1]!.id;
      const d = DEFAULT_WORKSPACE_ID;
      for (const ws of [d, acme]) {
        const own = ws === d;
        const workflows = k.query('workflow.list', { workspaceId: ws, includeArchived: true }) as { name: string; revision: number; archived: boolean; sessions: number }[];
        assert.deepEqual(workflows.map((w) => [w.name, w.revision, w.archived, w.sessions]), own ? [['greet', 2, false, 2], ['old', 1, true, 0]] : []);
        assert.equal((k.query('session.list', { workspaceId: ws }) as unknown[]).length, own ? 2 : 0);
        assert.equal((k.query('forest.node.list', { workspaceId: ws }) as { total: number }).total, own ? 5 : 0, 'the archived node is hidden');
        assert.equal((k.query('forest.search', { workspaceId: ws, query: 'canary' }) as { total: number }).total, own ? 1 : 0);
        assert.deepEqual((k.query('secret.list', { workspaceId: ws }) as { name: string }[]).map((s) => s.name), own ? ['API_KEY'] : []);
        assert.deepEqual((k.query('llm.provider.list', { workspaceId: ws }) as { id: string }[]).map((p) => p.id), own ? ['openai'] : []);
      }
      for (const s of k.query('session.list', {}) as { workspaceId: string }[]) assert.equal(s.workspaceId, d);
      const before = k.digest();
      for (const p of k.rebuild().projections) assert.equal(p.identical, true, p.name);
      assert.deepEqual(k.digest(), before);
    }));

  test('stored events keep v1; reads through the kernel lift them into the default workspace', () =>
    withOldLog((k) => {
      const raw = k.sql.all(`SELECT type, v, payload FROM events WHERE type IN (${SCOPED_V1.map(() => '?').join(',')})`, SCOPED_V1);
      assert.ok(raw.length > 0);
      for (const r of raw) {
        assert.equal(r['v'], 1);
        assert.equal(JSON.parse(String(r['payload'])).workspaceId, undefined);
      }
      const read = k.readEvents(0, 10_000).filter((e) => SCOPED_V1.includes(e.type));
      assert.equal(read.length, raw.length);
      for (const e of read) {
        assert.equal(e.v, 2, e.type);
        assert.equal((e.payload as { workspaceId: string }).workspaceId, DEFAULT_WORKSPACE_ID);
      }
    }));

  test('work continues in the default workspace: revisions go on, old workflows start', () =>
    withOldLog((k) => {
      const source = (k.query('workflow.get', { name: 'greet' }) as { source: string }).source;
      const saved = k.command({ type: 'workflow.save', payload: { source: source.replace('1.1.0', '1.2.0') }, idempotencyKey: newKey() }).value as { revision: number };
      assert.equal(saved.revision, 3);
      const started = k.command({ type: 'session.start', payload: { workflow: 'greet@1.0.0', inputs: { who: 'Cy' } }, idempotencyKey: newKey() }).value as { sessionId: string };
      assert.equal((k.query('session.get', { sessionId: started.sessionId }) as { workspaceId: string }).workspaceId, DEFAULT_WORKSPACE_ID);
    }));

  test('schema migration 4 moves existing secret values into the default workspace', async () => {
    const o = await memoryAdapter().open();
    try {
      const before = MIGRATIONS.findIndex((m) => m.description.startsWith('secret values scoped by workspace'));
      assert.ok(before > 0);
      migrate(o.db, 'test', MIGRATIONS.slice(0, before));
      o.db.exec("INSERT INTO secrets (name, value, updated_at) VALUES ('API_KEY', 'sk-old', '2025-01-01T00:00:00.000Z'), ('OTHER', 'x', '2025-01-02T00:00:00.000Z')");
      migrate(o.db, 'test');
      const reader = {
        all: (sql: string, bind: unknown[] = []) => o.db.selectObjects(sql, bind as never) as Record<string, unknown>[],
      };
      assert.deepEqual(JSON.parse(JSON.stringify(reader.all('SELECT workspace_id, name, value FROM secrets ORDER BY name'))), [
        { workspace_id: DEFAULT_WORKSPACE_ID, name: 'API_KEY', value: 'sk-old' },
        { workspace_id: DEFAULT_WORKSPACE_ID, name: 'OTHER', value: 'x' },
      ]);
      assert.deepEqual(new Map(readSecrets(reader as never, DEFAULT_WORKSPACE_ID)), new Map([['API_KEY', 'sk-old'], ['OTHER', 'x']]));
    } finally {
      await o.close();
    }
  });
});

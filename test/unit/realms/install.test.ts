/**
 * The realm service end to end in Node (docs/realms.md): a realm built with
 * scripts/realm-publish.ts, served over HTTP on 127.0.0.1, registered in a kernel with its engine
 * and realm service. Discover with compatibility, request → approve → install → receipt in the
 * audit chain → run the installed workflow; upgrade with the capability diff; reject with a
 * reason; uninstall refused while something depends on the kata, then allowed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installAndWait, kataSources, realmSite, register, until, world, type Realm } from '../../helpers/realm-world.ts';
import type { InstallRow } from '../../../worker/domains/realms/state.ts';

type Kata = { realm: string; name: string; installed: { version: string } | null; versions: { version: string; compatible: boolean; why: string[] }[] };

test('discover, approve, install with a receipt in the audit chain, run the installed workflow, upgrade with the capability diff', async () => {
  const site = await realmSite('team', [
    kataSources(),
    kataSources({ name: 'future.kata', kingdom: '>=9.0.0' }),
    kataSources({ name: 'smart.kata', skills: ['llm'] }),
  ]);
  const w = await world();
  try {
    const realm = await register(w, 'team', site.server.url, site.root);
    assert.equal(realm.index?.version, 1, 'the signed index was accepted');
    assert.equal(realm.lastRefusal, null);

    const found = w.q<Kata[]>('realm.katas', { query: 'greet' });
    assert.deepEqual(found.map((k) => k.name), ['future.kata', 'hello.greet', 'smart.kata'], 'the words match the description');
    const byName = new Map(found.map((k) => [k.name, k]));
    assert.equal(byName.get('hello.greet')!.versions[0]!.compatible, true);
    assert.equal(byName.get('future.kata')!.versions[0]!.compatible, false);
    assert.match(byName.get('future.kata')!.versions[0]!.why[0]!, /needs Kingdom >=9\.0\.0; this is Kingdom 0\.1\.0/);
    assert.match(byName.get('smart.kata')!.versions[0]!.why[0]!, /skill "llm": configure an LLM provider/);
    assert.deepEqual(w.q<Kata[]>('realm.katas', { skills: ['llm'] }).map((k) => k.name), ['smart.kata'], 'filter by required skill');
    assert.deepEqual(w.q<Kata[]>('realm.katas', { tags: ['nope'] }), []);

    const before = w.k.auditEntries().length;
    const { requestId, proposal } = w.cmd('realm.install.request', { realm: 'team', name: 'hello.greet', version: '1.0.0' }).value as { requestId: string; proposal: { entry: { capabilities: { hosts: string[] } }; compatible: boolean; diff: unknown } };
    assert.deepEqual(proposal.entry.capabilities.hosts, ['127.0.0.1'], 'the proposal shows the hosts it may call');
    assert.equal(proposal.compatible, true);
    assert.equal(proposal.diff, null, 'a first install has no diff');
    assert.equal(w.q<{ length: number }>('manifest.list', {}).length, 0, 'nothing is installed before approval');
    w.cmd('realm.install.approve', { requestId });
    const done = await until(() => w.q<InstallRow[]>('realm.installs', {}).find((r) => r.requestId === requestId && r.status !== 'approved'), 'installed');
    assert.equal(done.status, 'installed', JSON.stringify(done.failure));

    const installed = w.q<{ name: string; version: string; sha256: string; manifests: unknown[]; approvedBy: string }[]>('realm.installed', {});
    assert.equal(installed.length, 1);
    assert.equal(installed[0]!.manifests.length, 3, 'Kata, Workflow and Tool applied');
    const list = w.q<{ kind: string; name: string; origin: { via: string; realm?: string } }[]>('manifest.list', {});
    assert.deepEqual(list.map((m) => `${m.kind}/${m.name}`).sort(), ['Kata/hello.greet', 'Tool/hello.greet.ping', 'Workflow/hello_greet_flow']);
    assert.ok(list.filter((m) => m.kind !== 'Workflow').every((m) => m.origin.via === 'realm' && m.origin.realm === 'team'), 'origin realm');

    const audit = w.k.auditEntries().slice(before);
    assert.ok(audit.some((a) => a.action === 'realm.install.approve'), 'the approval is audited');
    const receipt = audit.filter((a) => a.action === 'realm.install');
    assert.ok(receipt.length >= 1, 'the install is in the audit chain');
    const ev = w.k.readEvents(0, 10_000).find((e) => e.type === 'realm.installed')!;
    assert.ok(receipt.some((a) => a.eventId === ev.id), 'the receipt event itself is audited');
    const p = ev.payload as { realm: string; name: string; version: string; sha256: string; indexVersion: number; approvedBy: string };
    assert.deepEqual([p.realm, p.name, p.version, p.indexVersion, p.approvedBy], ['team', 'hello.greet', '1.0.0', 1, 'user']);
    assert.equal(p.sha256, installed[0]!.sha256);

    // Run it.
    const started = w.cmd('session.start', { workflow: 'hello_greet_flow', inputs: { who: 'Ada' } }).value as { sessionId: string };
    const sess = await until(() => {
      const s = w.q<{ status: string; outputs?: unknown } | null>('session.get', { sessionId: started.sessionId });
      return s && (s.status === 'succeeded' || s.status === 'failed') ? s : undefined;
    }, 'the session ends');
    assert.equal(sess.status, 'succeeded');

    // Upgrade: a new version asking for one more host; the proposal shows the diff.
    await site.publish([kataSources({ version: '1.1.0', hosts: ['127.0.0.1', 'api.example.com'], greeting: 'Hi' })]);
    w.cmd('realm.refresh', { id: 'team' });
    await until(() => w.q<Realm[]>('realm.list')[0]!.index?.version === 2, 'index v2');
    const up = w.cmd('realm.install.request', { realm: 'team', name: 'hello.greet', version: '1.1.0' }).value as { requestId: string; proposal: { upgradeFrom: { version: string }; diff: { added: { hosts: string[] }; removed: { hosts: string[] } } } };
    assert.equal(up.proposal.upgradeFrom.version, '1.0.0');
    assert.deepEqual(up.proposal.diff.added.hosts, ['api.example.com'], 'the capability diff names the new host');
    w.cmd('realm.install.approve', { requestId: up.requestId });
    const upgraded = await until(() => w.q<InstallRow[]>('realm.installs', {}).find((r) => r.requestId === up.requestId && r.status !== 'approved'), 'upgraded');
    assert.equal(upgraded.status, 'installed', JSON.stringify(upgraded.failure));
    assert.equal(w.q<{ version: string }[]>('realm.installed', {})[0]!.version, '1.1.0');
    const again = w.q<{ source: string }>('session.get', { sessionId: started.sessionId });
    assert.match(again.source, /Hello, /, 'the session that ran keeps the definition it pinned');
  } finally {
    await w.close();
    await site.close();
  }
});

test('reject with a reason: audited, nothing installed', async () => {
  const site = await realmSite();
  const w = await world();
  try {
    await register(w, 'team', site.server.url, site.root);
    const { requestId } = w.cmd('realm.install.request', { realm: 'team', name: 'hello.greet', version: '1.0.0' }).value as { requestId: string };
    w.cmd('realm.install.reject', { requestId, reason: 'not now' });
    const row = w.q<InstallRow[]>('realm.installs', {}).find((r) => r.requestId === requestId)!;
    assert.equal(row.status, 'rejected');
    assert.equal(row.reason, 'not now');
    assert.ok(w.k.auditEntries().some((a) => a.action === 'realm.install.reject'));
    assert.throws(() => w.cmd('realm.install.approve', { requestId }), /rejected, not proposed/);
    assert.equal(w.q<unknown[]>('manifest.list', {}).length, 0);
  } finally {
    await w.close();
    await site.close();
  }
});

test('uninstall is refused while another manifest needs the kata, then removes what the install applied', async () => {
  const site = await realmSite();
  const w = await world();
  try {
    await register(w, 'team', site.server.url, site.root);
    assert.equal((await installAndWait(w, 'team', 'hello.greet', '1.0.0')).status, 'installed');
    const dependent = `kind: Agent\nname: greeter\nversion: 1.0.0\npersona: greets\nmodel: { name: m }\ntools: [hello.greet.ping]\n`;
    w.cmd('manifest.apply', { source: dependent });
    assert.throws(() => w.cmd('realm.uninstall', { name: 'hello.greet' }), (e: { code?: string; message: string }) => e.code === 'has_dependents' && /Agent\/greeter@1\.0\.0/.test(e.message));
    w.cmd('manifest.remove', { kind: 'Agent', name: 'greeter', version: '1.0.0' });
    w.cmd('realm.uninstall', { name: 'hello.greet' });
    assert.equal(w.q<unknown[]>('manifest.list', {}).length, 0, 'every manifest of the kata is gone');
    assert.equal(w.q<unknown[]>('realm.installed', {}).length, 0);
    assert.ok(w.k.auditEntries().some((a) => a.action === 'realm.uninstall'));
    // Installing again brings the archived workflow back.
    assert.equal((await installAndWait(w, 'team', 'hello.greet', '1.0.0')).status, 'installed');
    assert.equal(w.q<unknown[]>('workflow.list', {}).length, 1);
  } finally {
    await w.close();
    await site.close();
  }
});

test('realm commands the service issues are internal: forbidden through the API', async () => {
  const w = await world();
  try {
    const api = w.root.api({ host: 'node', storage: 'memory', leader: true } as never);
    const res = await api.command({ type: 'realm.install.complete', payload: { requestId: crypto.randomUUID(), pack: '{}' }, idempotencyKey: 'x1' });
    assert.ok(!res.ok && res.error.code === 'forbidden');
  } finally {
    await w.close();
  }
});

/**
 * A realm host that serves different bytes to different devices is caught through the log
 * (docs/realms.md, "Devices compare"): two kernels, each with its own realm service, whose logs
 * are merged (exportChain → ingest, what sync carries).
 *
 * - Both devices accept index version 1 while apart, each with other bytes: after the merge both
 *   show a split view and the re-pointed `name@version` in realm.incidents.
 * - A device that already has the other's index head refuses the different bytes at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kataSources, realmSite, register, until, world, type Realm, type World } from '../../helpers/realm-world.ts';

/** The fetch of a device the host lies to: every request for site `from` is answered by site `to`. */
const lyingFetch = (from: string, to: string): typeof fetch => (input, init) => fetch(String(input).replace(from, to), init);

async function exchange(a: World, b: World): Promise<void> {
  await b.k.ingest({ events: a.k.exportChain(a.k.deviceId).events });
  await a.k.ingest({ events: b.k.exportChain(b.k.deviceId).events });
}

test('two devices served different bytes while apart: after the merge both show the split view and the re-pointed version', async () => {
  const honest = await realmSite('team', [kataSources()]);
  const other = await realmSite('team', [kataSources({ greeting: 'Howdy' })], { key: honest.key });
  const a = await world();
  const b = await world({ fetch: lyingFetch(honest.server.url, other.server.url) });
  try {
    assert.equal((await register(a, 'team', honest.server.url, honest.root)).index?.version, 1);
    assert.equal((await register(b, 'team', honest.server.url, honest.root)).index?.version, 1, 'B alone cannot tell: a valid signed index');
    assert.deepEqual(a.q('realm.incidents'), []);
    await exchange(a, b);
    for (const w of [a, b]) {
      const incidents = w.q<{ kind: string; devices: string[]; details: { version?: number; kata?: string } }[]>('realm.incidents');
      const split = incidents.find((i) => i.kind === 'split_view');
      assert.ok(split, `split view on ${w === a ? 'A' : 'B'}: ${JSON.stringify(incidents)}`);
      assert.equal(split.details.version, 1);
      assert.deepEqual([...split.devices].sort(), [a.k.deviceId, b.k.deviceId].sort());
      assert.ok(incidents.some((i) => i.kind === 'repointed' && i.details.kata === 'hello.greet@1.0.0'));
    }
  } finally {
    await a.close();
    await b.close();
    await honest.close();
    await other.close();
  }
});

test("a device that has the other device's index head refuses different bytes for it", async () => {
  const honest = await realmSite('team', [kataSources()]);
  const other = await realmSite('team', [kataSources({ greeting: 'Howdy' })], { key: honest.key });
  const a = await world();
  const b = await world({ fetch: lyingFetch(honest.server.url, other.server.url) });
  try {
    await register(a, 'team', honest.server.url, honest.root);
    await exchange(a, b);
    const from = b.k.auditEntries(0, 100_000).length;
    b.cmd('realm.refresh', { id: 'team' });
    const r = await until(() => b.q<Realm[]>('realm.list')[0]!.lastRefusal ?? undefined, 'a refusal on B');
    assert.equal(r.code, 'rollback', 'same version, other bytes');
    assert.ok(b.q<{ code: string }[]>('realm.incidents').some((i) => i.code === 'rollback'));
    assert.ok(b.k.auditEntries(0, 100_000).slice(from).some((e) => e.action === 'realm.index.refuse'));
    await exchange(a, b);
    assert.ok(a.q<{ code: string; devices: string[] }[]>('realm.incidents').some((i) => i.code === 'rollback' && i.devices.includes(b.k.deviceId)), 'A sees the incident B recorded');
  } finally {
    await a.close();
    await b.close();
    await honest.close();
    await other.close();
  }
});

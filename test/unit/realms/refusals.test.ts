/**
 * Every refusal of the realm service leaves nothing installed (manifest.list and workflow.list
 * unchanged) and an entry in the audit chain (docs/realms.md, "Install" and "Trust"): a tampered
 * pack, a tampered index, a wrong signature, a rolled-back index, an expired index, a re-pointed
 * version, an incompatible version (kingdom range), a missing skill, a pack whose Tool calls a
 * host it did not declare. Also: the kernel re-checks an index the service hands it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { installAndWait, kataSources, realmSite, register, until, world, type Realm, type RealmSite, type World } from '../../helpers/realm-world.ts';
import { newSigningKey, signIndex } from '../../../worker/realms/publish.ts';
import { base64Decode, base64Encode } from '../../../worker/realms/signing.ts';
import type { RealmIndex } from '../../../worker/realms/format.ts';
import type { KernelError } from '../../../worker/kernel/errors.ts';

const snapshot = (w: World) => JSON.stringify([w.q('manifest.list', {}), w.q('workflow.list', { includeArchived: true }), w.q('realm.installed', {})]);
const audited = (w: World, action: string, from: number) => w.k.auditEntries(0, 100_000).slice(from).filter((a) => a.action === action);

async function setup(katas = [kataSources()]): Promise<{ site: RealmSite; w: World }> {
  const site = await realmSite('team', katas);
  const w = await world();
  const r = await register(w, 'team', site.server.url, site.root);
  assert.equal(r.index?.version, 1, `index accepted: ${JSON.stringify(r.lastRefusal)}`);
  return { site, w };
}

async function refreshed(w: World): Promise<Realm> {
  const before = w.k.readEvents(0, 100_000).filter((e) => e.type.startsWith('realm.index_')).length;
  w.cmd('realm.refresh', { id: 'team' });
  await until(() => w.k.readEvents(0, 100_000).filter((e) => e.type.startsWith('realm.index_')).length > before, 'a verdict');
  return w.q<Realm[]>('realm.list')[0]!;
}

function payloadOf(text: string): RealmIndex {
  return JSON.parse(new TextDecoder().decode(base64Decode((JSON.parse(text) as { payload: string }).payload)!)) as RealmIndex;
}

async function installFails(katas: string[][], name: string, code: RegExp, message?: RegExp): Promise<void> {
  const { site, w } = await setup(katas);
  try {
    const before = snapshot(w);
    const from = w.k.auditEntries(0, 100_000).length;
    const row = await installAndWait(w, 'team', name, '1.0.0');
    assert.equal(row.status, 'failed');
    assert.match(row.failure!.code, code);
    if (message) assert.match(row.failure!.message, message);
    assert.equal(snapshot(w), before, 'nothing installed');
    assert.equal(audited(w, 'realm.install.fail', from).length, 1, 'the failure is audited');
  } finally {
    await w.close();
    await site.close();
  }
}

async function indexRefused(tamper: (site: RealmSite, w: World) => Promise<void>, code: string, incident: boolean): Promise<void> {
  const { site, w } = await setup();
  try {
    const before = snapshot(w);
    const from = w.k.auditEntries(0, 100_000).length;
    await tamper(site, w);
    const r = await refreshed(w);
    assert.equal(r.lastRefusal?.code, code, JSON.stringify(r.lastRefusal));
    assert.equal(r.index?.version, 1, 'the accepted index is still version 1');
    assert.equal(snapshot(w), before, 'nothing installed');
    assert.equal(audited(w, 'realm.index.refuse', from).length, 1, 'the refusal is audited');
    assert.equal(w.q<{ code: string }[]>('realm.incidents').some((i) => i.code === code), incident, `incident: ${incident}`);
  } finally {
    await w.close();
    await site.close();
  }
}

test('a tampered pack is refused at install', async () => {
  const { site, w } = await setup();
  try {
    const entry = payloadOf(await site.read('index.json')).katas[0]!;
    const text = await site.read(`packs/${entry.sha256}`);
    await site.write(`packs/${entry.sha256}`, text.replace('Hello', 'Hellx'));
    const before = snapshot(w);
    const from = w.k.auditEntries(0, 100_000).length;
    const row = await installAndWait(w, 'team', 'hello.greet', '1.0.0');
    assert.equal(row.status, 'failed');
    assert.equal(row.failure!.code, 'tampered');
    assert.equal(snapshot(w), before);
    assert.equal(audited(w, 'realm.install.fail', from).length, 1);
  } finally {
    await w.close();
    await site.close();
  }
});

test('a tampered index is refused (bad signature, an incident)', () => indexRefused(async (site) => {
  await site.publish([kataSources({ name: 'other.kata' })]);
  const env = JSON.parse(await site.read('index.json')) as { payload: string };
  const idx = payloadOf(await site.read('index.json'));
  idx.katas[0]!.capabilities.hosts.push('evil.example.com');
  env.payload = base64Encode(new TextEncoder().encode(JSON.stringify(idx)));
  await site.write('index.json', JSON.stringify(env));
}, 'bad_signature', true));

test('an index signed by another key is refused', () => indexRefused(async (site) => {
  const idx = payloadOf(await site.read('index.json'));
  await site.write('index.json', JSON.stringify(await signIndex({ ...idx, version: 2 }, [await newSigningKey()])));
}, 'bad_signature', true));

test('a rolled-back index is refused', async () => {
  const { site, w } = await setup();
  try {
    const v1 = await site.read('index.json');
    await site.publish([kataSources({ name: 'other.kata' })]);
    assert.equal((await refreshed(w)).index?.version, 2);
    const before = snapshot(w);
    const from = w.k.auditEntries(0, 100_000).length;
    await site.write('index.json', v1);
    const back = await refreshed(w);
    assert.equal(back.lastRefusal?.code, 'rollback');
    assert.equal(back.index?.version, 2, 'the accepted index is still version 2');
    assert.equal(snapshot(w), before);
    assert.equal(audited(w, 'realm.index.refuse', from).length, 1);
    assert.ok(w.q<{ code: string }[]>('realm.incidents').some((i) => i.code === 'rollback'));
  } finally {
    await w.close();
    await site.close();
  }
});

test('an expired index is refused (freeze), judged by the clock and the latest issue time', () => indexRefused(async (_site, w) => {
  w.now += 31 * 86_400_000;
}, 'expired', false));

test('a re-pointed version is refused as a security incident', () => indexRefused(async (site) => {
  const idx = payloadOf(await site.read('index.json'));
  idx.katas[0]!.sha256 = 'ab'.repeat(32);
  await site.write('index.json', JSON.stringify(await signIndex({ ...idx, version: 2 }, [site.key])));
}, 'repointed', true));

test('an incompatible version (kingdom range) is refused at install', () =>
  installFails([kataSources({ kingdom: '>=9.0.0' })], 'hello.greet', /^incompatible$/, /needs Kingdom >=9\.0\.0/));

test('a kata needing a skill this workspace lacks is refused at install', () =>
  installFails([kataSources({ skills: ['llm'] })], 'hello.greet', /^missing_skill$/, /skill "llm"/));

test('a pack whose Tool calls a host it did not declare is refused', () =>
  installFails([kataSources({ toolUrl: 'https://evil.example.com/steal' })], 'hello.greet', /^undeclared_hosts$/, /asks for undeclared hosts.*evil\.example\.com/));

test('the kernel re-checks an index the service hands it (version, re-pointing, expiry)', async () => {
  const { site, w } = await setup();
  try {
    const idx = payloadOf(await site.read('index.json'));
    const accept = (over: Partial<RealmIndex> & { digest?: string }) => w.k.systemBatch([{ type: 'realm.index.accept', idempotencyKey: `a-${crypto.randomUUID()}`, payload: {
      id: 'team', version: over.version ?? idx.version, digest: over.digest ?? 'cd'.repeat(32), issuedAt: idx.issuedAt, expiresAt: over.expiresAt ?? idx.expiresAt, katas: over.katas ?? idx.katas,
    } }]);
    const refused = (fn: () => unknown, code: string) => assert.throws(fn, (e: KernelError) => e.code === 'realm_refused' && (e.details as { code: string }).code === code);
    refused(() => accept({ version: 1 }), 'rollback');
    refused(() => accept({ version: 2, katas: [{ ...idx.katas[0]!, sha256: 'ef'.repeat(32) }] }), 'repointed');
    refused(() => accept({ version: 2, expiresAt: '2000-01-01T00:00:00.000Z' }), 'expired');
    accept({ version: 2 });
    assert.equal(w.q<Realm[]>('realm.list')[0]!.index?.version, 2);
    refused(() => accept({ version: 1, digest: w.q<{ index: { digest: string } }[]>('realm.list')[0]!.index.digest }), 'rollback');
  } finally {
    await w.close();
    await site.close();
  }
});

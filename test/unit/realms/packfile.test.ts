/**
 * The kata pack format (worker/realms/packfile.ts), the app's export of a kata as a pack
 * (`realm.pack.export`), the publish script's rules, and the Kingdom version compatibility is
 * judged against.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPack, hostsCalled, readPack, textSha256 } from '../../../worker/realms/packfile.ts';
import { KINGDOM_VERSION } from '../../../worker/domains/realms/version.ts';
import { initRealm, publish, readKeyFile, writeKeyFile } from '../../../scripts/realm-publish.ts';
import { kataSources, world } from '../../helpers/realm-world.ts';
import { tempDir, removeDir } from '../../helpers/kernel.ts';

test('a pack reads back what was built, deterministically, Kata first', () => {
  const sources = kataSources();
  const a = buildPack(sources);
  const b = buildPack([...sources].reverse());
  assert.ok(a.ok && b.ok);
  assert.equal(a.text, b.text, 'the same manifests give the same bytes');
  assert.equal(a.sha256, textSha256(a.text));
  const read = readPack(a.text);
  assert.ok(read.ok);
  assert.deepEqual(read.pack.items.map((i) => i.kind), ['Kata', 'Tool', 'Workflow']);
  assert.deepEqual(hostsCalled(read.pack.items), [{ host: '127.0.0.1', from: 'Tool/hello.greet.ping@1.0.0' }]);
});

test('a pack that is not consistent is refused with a sentence', () => {
  const built = buildPack(kataSources());
  assert.ok(built.ok);
  const file = JSON.parse(built.text) as { manifests: { source: string; sha256: string; version: string }[]; kata: { version: string } };
  const cases: [string, (f: typeof file) => void, RegExp][] = [
    ['a source changed', (f) => { f.manifests[1]!.source += '#'; }, /does not match its SHA-256/],
    ['a declared version that is not the text', (f) => { f.manifests[1]!.version = '9.9.9'; }, /declares .*9\.9\.9 but its text is/],
    ['the Kata not first', (f) => { f.manifests.reverse(); }, /exactly one Kata, first/],
    ['another kata name', (f) => { f.kata.version = '2.0.0'; }, /exactly one Kata, first/],
    ['a manifest twice', (f) => { f.manifests.push(f.manifests[1]!); }, /twice/],
  ];
  for (const [what, change, message] of cases) {
    const f = JSON.parse(built.text) as typeof file;
    change(f);
    const res = readPack(JSON.stringify(f));
    assert.ok(!res.ok && message.test(res.error.message), `${what}: ${res.ok ? 'accepted' : res.error.message}`);
  }
  assert.ok(!readPack('not json').ok);
  assert.ok(!readPack('{"format":"other"}').ok);
});

test('hosts chosen at run time cannot be declared', () => {
  const built = buildPack(kataSources({ toolUrl: 'https://{{ params.host }}/x' }));
  assert.ok(built.ok);
  const read = readPack(built.text);
  assert.ok(read.ok);
  assert.equal(hostsCalled(read.pack.items)[0]!.host, '{{template}}');
});

test('realm.pack.export builds the pack of a kata the workspace holds, with what it needs', async () => {
  const w = await world();
  try {
    for (const source of kataSources()) w.cmd('manifest.apply', { source });
    const res = w.q<{ pack: string; sha256: string; size: number; manifests: string[]; entry: { name: string; sha256: string; capabilities: { hosts: string[] } } }>('realm.pack.export', { name: 'hello.greet' });
    assert.deepEqual(res.manifests, ['Kata/hello.greet@1.0.0', 'Workflow/hello_greet_flow@1.0.0']);
    assert.equal(res.sha256, textSha256(res.pack));
    assert.equal(res.entry.sha256, res.sha256);
    assert.deepEqual(res.entry.capabilities.hosts, ['127.0.0.1']);
    assert.ok(readPack(res.pack).ok);
    assert.throws(() => w.q('realm.pack.export', { name: 'nope' }), /no Kata nope/);
  } finally {
    await w.close();
  }
});

test('the publish script bumps the index version, never re-points a published version, refuses look-alike names', async () => {
  const dir = tempDir('kingdom-publish-');
  try {
    const key = await writeKeyFile(join(dir, 'realm.key'));
    const again = await readKeyFile(join(dir, 'realm.key'));
    assert.equal(again.publicKeyHex, key.publicKeyHex, 'the key file reads back');
    const site = join(dir, 'site');
    await initRealm(site, 'team', key);
    const first = await publish({ dir: site, key: again, katas: [kataSources()] });
    assert.deepEqual([first.index.version, first.added], [1, ['hello.greet@1.0.0']]);
    const same = await publish({ dir: site, key, katas: [kataSources()] });
    assert.deepEqual([same.index.version, same.added], [2, []], 'the same bytes again: only the version moves');
    await assert.rejects(publish({ dir: site, key, katas: [kataSources({ greeting: 'Yo' })] }), /already published with other bytes/);
    await assert.rejects(publish({ dir: site, key, katas: [kataSources({ name: 'hello-greet' })] }), /look alike/);
    const root = JSON.parse(readFileSync(join(site, 'realm-root.json'), 'utf8')) as { realm: string };
    assert.equal(root.realm, 'team');
  } finally {
    removeDir(dir);
  }
});

test("KINGDOM_VERSION is package.json's version", () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(KINGDOM_VERSION, pkg.version);
});

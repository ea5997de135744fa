/**
 * The Dojo's draft (src/lib/realms/dojo-draft.ts) and the realm root file as the register form reads
 * it (src/lib/realms/root.ts): the model's answer unwrapped, names and tags made valid, the Kata
 * manifest written from what the workflow uses; root files refused in words, key ids checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesOf, DRAFT_SOURCE, kataManifest, readDraft, unfence } from '../../../src/lib/realms/dojo-draft.ts';
import { checkKeyIds, checkRealmUrl, readRoot, rootUrl } from '../../../src/lib/realms/root.ts';
import { openKingdom } from '../../../worker/node/index.ts';

const FLOW = `name: water_plants
version: 0.1.0
description: Remind me to water the plants
secrets_note: none
steps:
  - id: remind
    type: task
    runner: http
    with:
      method: POST
      url: "https://hooks.example.com/notify?token={{ secrets.HOOK_TOKEN }}"
  - id: say
    type: llm
    model: fake-model
    prompt: hi
`;

test('a draft is read from the session output; fences are removed; bad tags and names are fixed', () => {
  const d = readDraft({ draft: { name: 'Water Plants', description: ' Water them. ', tags: ['Home Care', '!!', 'home-care', 7], complexity: 'weird', workflow: '```yaml\n' + FLOW + '```' } });
  assert.ok(d);
  assert.equal(d.name, 'water_plants', 'an invalid name: the workflow’s own');
  assert.deepEqual(d.tags, ['home-care']);
  assert.equal(d.complexity, 'simple');
  assert.equal(d.description, 'Water them.');
  assert.ok(d.workflow.startsWith('name: water_plants\n') && d.workflow.endsWith('prompt: hi\n'));
  assert.equal(readDraft({ draft: { name: 'x' } }), null, 'no workflow: no draft');
  assert.equal(unfence('plain: yes'), 'plain: yes\n');
});

test('capabilities come from what the workflow uses; the Kata manifest validates in the kernel', async () => {
  assert.deepEqual(capabilitiesOf(FLOW), { runners: ['http', 'llm'], hosts: ['hooks.example.com'], secrets: ['HOOK_TOKEN'] });
  const d = readDraft({ name: 'water_plants', description: 'Water them.', tags: ['home'], complexity: 'simple', workflow: FLOW })!;
  const kata = kataManifest(d, 'water_plants', '0.1.0', FLOW);
  const k = await openKingdom();
  try {
    const v = await k.query('manifest.validate' as 'workflow.list', { source: kata } as never);
    assert.ok(v.ok, JSON.stringify(v));
    const r = v.value as unknown as { ok: boolean; manifest?: { kind: string }; errors?: unknown };
    assert.equal(r.ok, true, JSON.stringify(r));
    const flow = await k.query('workflow.validate', { source: DRAFT_SOURCE });
    assert.ok(flow.ok && flow.value.ok, `the built-in draft workflow validates: ${JSON.stringify(flow)}`);
  } finally {
    await k.close();
  }
});

test('root files: read, or refused with a sentence; key ids are fingerprints', async () => {
  const raw = new Uint8Array(32).fill(7);
  const pub = [...raw].map((b) => b.toString(16).padStart(2, '0')).join('');
  const id = [...new Uint8Array(await crypto.subtle.digest('SHA-256', raw))].map((b) => b.toString(16).padStart(2, '0')).join('').slice(0, 16);
  const good = readRoot(JSON.stringify({ format: 'kingdom.realm-root/1', realm: 'team', keys: [{ keyId: id, publicKey: pub, algorithm: 'Ed25519' }], threshold: 1 }));
  assert.ok(good.ok);
  assert.deepEqual(await checkKeyIds(good.root), []);
  const lying = readRoot(JSON.stringify({ format: 'kingdom.realm-root/1', realm: 'team', keys: [{ keyId: '0'.repeat(16), publicKey: pub }] }));
  assert.ok(lying.ok);
  assert.deepEqual(await checkKeyIds(lying.root), ['0'.repeat(16)]);
  for (const [text, re] of [['nope', /not JSON/], ['[]', /JSON object/], ['{"format":"x"}', /not a realm root file/],
    [JSON.stringify({ format: 'kingdom.realm-root/1', realm: 'Team', keys: [] }), /realm name/],
    [JSON.stringify({ format: 'kingdom.realm-root/1', realm: 'team', keys: [] }), /between one and eight/],
    [JSON.stringify({ format: 'kingdom.realm-root/1', realm: 'team', keys: [{ keyId: id, publicKey: pub }], threshold: 2 }), /threshold/]] as const) {
    const r = readRoot(text);
    assert.ok(!r.ok && re.test(r.problem), `${text}: ${JSON.stringify(r)}`);
  }
  assert.equal(rootUrl('http://127.0.0.1:9/realm/'), 'http://127.0.0.1:9/realm/realm-root.json');
  assert.deepEqual(checkRealmUrl(' http://127.0.0.1:9/realm/ '), { ok: true, url: 'http://127.0.0.1:9/realm' });
  assert.ok(!checkRealmUrl('ftp://x').ok && !checkRealmUrl('https://x/?a=1').ok && !checkRealmUrl('nope').ok);
});

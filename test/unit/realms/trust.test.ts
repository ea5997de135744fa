/**
 * Realm trust (worker/realms/trust.ts), tried the way an attacker would: a realm root with its
 * keys, indexes signed with worker/realms/publish.ts, then tampered payloads, foreign and missing
 * signatures, mixed releases, rollbacks, frozen indexes, re-pointed versions, publisher key
 * changes with and without notes, and look-alike names. Each refusal is typed and, where it is an
 * attack, an incident; the state only grows on success.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptIndex, EMPTY_TRUST, parseRoot, type TrustState } from '../../../worker/realms/trust.ts';
import { buildRoot, newSigningKey, rotationNote, signIndex, type SigningKey } from '../../../worker/realms/publish.ts';
import { base64Decode, base64Encode } from '../../../worker/realms/signing.ts';
import { type Envelope, type IndexEntry } from '../../../worker/realms/format.ts';
import { collisions, skeleton } from '../../../worker/realms/names.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-01T00:00:00Z');
const iso = (ms: number): string => new Date(ms).toISOString();

type EntryIn = Partial<IndexEntry> & { name: string; version: string };

async function realm(threshold = 1, keyCount = 1) {
  const keys: SigningKey[] = [];
  for (let i = 0; i < keyCount; i++) keys.push(await newSigningKey());
  const publisher = await newSigningKey();
  const root = buildRoot('team', keys, threshold);
  const entry = (e: EntryIn): IndexEntry => ({
    sha256: 'a'.repeat(64), size: 100, publisherKey: publisher.publicKeyHex, description: '', tags: [], complexity: 'simple',
    kingdom: '*', requires: { runners: [], skills: [] }, capabilities: { hosts: [], runners: [], secrets: [] }, deprecated: false, ...e,
  });
  const index = (version: number, katas: EntryIn[], extra: { issuedAt?: number; expiresAt?: number; signers?: SigningKey[]; rotations?: Awaited<ReturnType<typeof rotationNote>>[] } = {}) =>
    signIndex({
      realm: 'team', version, issuedAt: iso(extra.issuedAt ?? NOW - DAY), expiresAt: iso(extra.expiresAt ?? NOW + 7 * DAY),
      katas: katas.map(entry), rotations: extra.rotations ?? [],
    }, extra.signers ?? keys);
  return { keys, publisher, root, index };
}

async function accepted(r: Awaited<ReturnType<typeof acceptIndex>>): Promise<TrustState> {
  if (!r.ok) assert.fail(`refused: ${r.refusal.code} ${r.refusal.message}`);
  return r.state;
}

function refused(r: Awaited<ReturnType<typeof acceptIndex>>, code: string, incident: boolean): void {
  assert.equal(r.ok, false, `expected a ${code} refusal`);
  if (r.ok) return;
  assert.equal(r.refusal.code, code, r.refusal.message);
  assert.equal(r.refusal.incident, incident, `incident flag of ${code}`);
  assert.match(r.refusal.message, /^[A-Z].*\.( |$)/, 'a sentence');
}

/** The envelope with its payload's JSON changed by `edit` (signatures untouched). */
function tamper(env: Envelope, edit: (index: Record<string, unknown>) => void): Envelope {
  const json = JSON.parse(new TextDecoder().decode(base64Decode(env.payload)!)) as Record<string, unknown>;
  edit(json);
  return { ...env, payload: base64Encode(new TextEncoder().encode(JSON.stringify(json))) };
}

test('a signed index is accepted; the state remembers version, issue time, hashes and publishers', async () => {
  const r = await realm();
  const res = await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0', sha256: 'b'.repeat(64) }]), EMPTY_TRUST, NOW);
  const state = await accepted(res);
  assert.equal(state.highestVersion, 1);
  assert.equal(state.latestIssuedMs, NOW - DAY);
  assert.equal(state.seen.get('deploy@1.0.0'), 'b'.repeat(64));
  assert.equal(state.publishers.get('deploy'), r.publisher.publicKeyHex);
  assert.equal(EMPTY_TRUST.seen.size, 0, 'the input state is not changed');
  const again = await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0', sha256: 'b'.repeat(64) }]), state, NOW);
  assert.equal(again.ok, true, 'the same index again (byte for byte) is fine');
});

test('signatures: a tampered payload, a foreign key, a signature for another payload type, too few signers', async () => {
  const r = await realm();
  const good = await r.index(1, [{ name: 'deploy', version: '1.0.0' }]);
  refused(await acceptIndex(r.root, tamper(good, (j) => { (j['katas'] as { sha256: string }[])[0]!.sha256 = 'c'.repeat(64); }), EMPTY_TRUST, NOW), 'bad_signature', true);
  const stranger = await newSigningKey();
  refused(await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0' }], { signers: [stranger] }), EMPTY_TRUST, NOW), 'bad_signature', true);
  // The stranger's signature relabelled with the root key's id.
  const forged = await r.index(1, [{ name: 'deploy', version: '1.0.0' }], { signers: [stranger] });
  refused(await acceptIndex(r.root, { ...forged, signatures: [{ keyid: r.root.keys[0]!.keyId, sig: forged.signatures[0]!.sig }] }, EMPTY_TRUST, NOW), 'bad_signature', true);
  refused(await acceptIndex(r.root, { ...good, payloadType: 'application/vnd.other+json' }, EMPTY_TRUST, NOW), 'malformed', false);
  // A root entry whose keyId does not belong to its public key is not a key at all.
  const lying = { ...r.root, keys: [{ ...r.root.keys[0]!, keyId: '0123456789abcdef' }] };
  refused(await acceptIndex(lying, { ...good, signatures: [{ keyid: '0123456789abcdef', sig: good.signatures[0]!.sig }] }, EMPTY_TRUST, NOW), 'bad_signature', true);

  const two = await realm(2, 2);
  const one = await two.index(1, [{ name: 'deploy', version: '1.0.0' }], { signers: [two.keys[0]!] });
  refused(await acceptIndex(two.root, one, EMPTY_TRUST, NOW), 'bad_signature', true);
  const twice = { ...one, signatures: [one.signatures[0]!, one.signatures[0]!] };
  refused(await acceptIndex(two.root, twice, EMPTY_TRUST, NOW), 'bad_signature', true);
  await accepted(await acceptIndex(two.root, await two.index(1, [{ name: 'deploy', version: '1.0.0' }]), EMPTY_TRUST, NOW));
});

test('mixing releases: an entry from another signed index pasted in breaks the signature', async () => {
  const r = await realm();
  const v2 = await r.index(2, [{ name: 'deploy', version: '2.0.0', sha256: 'd'.repeat(64) }]);
  const v1 = await r.index(1, [{ name: 'deploy', version: '1.0.0' }]);
  const v2Entry = (JSON.parse(new TextDecoder().decode(base64Decode(v2.payload)!)) as { katas: unknown[] }).katas[0];
  refused(await acceptIndex(r.root, tamper(v1, (j) => { (j['katas'] as unknown[]).push(v2Entry); }), EMPTY_TRUST, NOW), 'bad_signature', true);
});

test('rollback: a lower version, or the same version with other content, is refused', async () => {
  const r = await realm();
  const state = await accepted(await acceptIndex(r.root, await r.index(5, [{ name: 'deploy', version: '1.0.0' }]), EMPTY_TRUST, NOW));
  refused(await acceptIndex(r.root, await r.index(4, [{ name: 'deploy', version: '1.0.0' }]), state, NOW), 'rollback', true);
  refused(await acceptIndex(r.root, await r.index(5, [{ name: 'deploy', version: '1.0.0' }, { name: 'extra', version: '1.0.0' }]), state, NOW), 'rollback', true);
  await accepted(await acceptIndex(r.root, await r.index(6, [{ name: 'deploy', version: '1.0.0' }]), state, NOW));
});

test('freeze: an expired index is refused, judged against the latest issue time seen even with the clock set back', async () => {
  const r = await realm();
  refused(await acceptIndex(r.root, await r.index(1, [], { issuedAt: NOW - 10 * DAY, expiresAt: NOW - DAY }), EMPTY_TRUST, NOW), 'expired', false);
  const state = await accepted(await acceptIndex(r.root, await r.index(1, [], { issuedAt: NOW, expiresAt: NOW + DAY }), EMPTY_TRUST, NOW));
  // An attacker replays a newer-numbered but stale index to a device whose clock is 30 days behind.
  const stale = await r.index(2, [], { issuedAt: NOW - 40 * DAY, expiresAt: NOW - 20 * DAY });
  assert.equal((await acceptIndex(r.root, stale, EMPTY_TRUST, NOW - 30 * DAY)).ok, true, 'a fresh client with a wrong clock cannot tell');
  refused(await acceptIndex(r.root, stale, state, NOW - 30 * DAY), 'expired', false);
});

test('re-pointed version: a name@version seen before mapped to new bytes is a security incident', async () => {
  const r = await realm();
  const state = await accepted(await acceptIndex(r.root, await r.index(1, [{ name: 'changed-files', version: '45.0.0', sha256: '1'.repeat(64) }]), EMPTY_TRUST, NOW));
  const res = await acceptIndex(r.root, await r.index(2, [{ name: 'changed-files', version: '45.0.0', sha256: '2'.repeat(64) }]), state, NOW);
  refused(res, 'repointed', true);
  assert.match(!res.ok ? res.refusal.message : '', /Security incident/);
  // Dropping the version from the index and bringing it back later with other bytes: still caught.
  const gone = await accepted(await acceptIndex(r.root, await r.index(3, []), state, NOW));
  refused(await acceptIndex(r.root, await r.index(4, [{ name: 'changed-files', version: '45.0.0', sha256: '2'.repeat(64) }]), gone, NOW), 'repointed', true);
  refused(await acceptIndex(r.root, await r.index(1, [{ name: 'x', version: '1.0.0', sha256: '1'.repeat(64) }, { name: 'x', version: '1.0.0', sha256: '2'.repeat(64) }]), EMPTY_TRUST, NOW), 'repointed', true);
});

test('publisher keys are pinned per kata; a change needs a note signed by the previous key (chains followed)', async () => {
  const r = await realm();
  const state = await accepted(await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0' }]), EMPTY_TRUST, NOW));
  const next = await newSigningKey();
  const third = await newSigningKey();
  const entry = (key: SigningKey): EntryIn => ({ name: 'deploy', version: '1.1.0', publisherKey: key.publicKeyHex });
  refused(await acceptIndex(r.root, await r.index(2, [entry(next)]), state, NOW), 'key_changed', true);
  const selfSigned = await rotationNote('deploy', next, next.publicKeyHex);
  refused(await acceptIndex(r.root, await r.index(2, [entry(next)], { rotations: [{ ...selfSigned, from: r.publisher.publicKeyHex }] }), state, NOW), 'key_changed', true);
  const otherKata = await rotationNote('other', r.publisher, next.publicKeyHex);
  refused(await acceptIndex(r.root, await r.index(2, [entry(next)], { rotations: [{ ...otherKata, kata: 'deploy' }] }), state, NOW), 'key_changed', true);
  const good = await rotationNote('deploy', r.publisher, next.publicKeyHex);
  const bogusFirst = { ...good, to: third.publicKeyHex };
  const rotated = await accepted(await acceptIndex(r.root, await r.index(2, [entry(next)], { rotations: [bogusFirst, good] }), state, NOW));
  assert.equal(rotated.publishers.get('deploy'), next.publicKeyHex);
  const chain = [good, await rotationNote('deploy', next, third.publicKeyHex)];
  assert.equal((await accepted(await acceptIndex(r.root, await r.index(2, [entry(third)], { rotations: chain }), state, NOW))).publishers.get('deploy'), third.publicKeyHex);
});

test('look-alike names: refused within one index, flagged against names seen before', async () => {
  assert.equal(skeleton('Finance.Audit'), skeleton('finance_audit'));
  assert.equal(skeleton('fіnance.audit'), skeleton('finance.audit'), 'Cyrillic і');
  assert.equal(skeleton('ｄｅｐｌｏｙ'), 'deploy', 'full-width');
  assert.equal(skeleton('dep\u200bloy'), 'deploy', 'zero-width space');
  assert.equal(skeleton('dep1oy'), skeleton('deploy'), 'digit one for l');
  assert.notEqual(skeleton('deploy'), skeleton('deploys'));
  assert.deepEqual(collisions(['a.b', 'a-b', 'c']), [['a.b', 'a-b']]);
  const r = await realm();
  refused(await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0' }, { name: 'dep1oy', version: '1.0.0' }]), EMPTY_TRUST, NOW), 'name_collision', true);
  const state = await accepted(await acceptIndex(r.root, await r.index(1, [{ name: 'deploy', version: '1.0.0' }]), EMPTY_TRUST, NOW));
  const res = await acceptIndex(r.root, await r.index(2, [{ name: 'dep_loy', version: '1.0.0' }]), state, NOW);
  assert.ok(res.ok, 'a look-alike of a name seen before is accepted, and flagged');
  assert.deepEqual(res.lookalikes, [{ name: 'dep_loy', like: 'deploy' }]);
});

test('hostile files are typed refusals: malformed roots, envelopes, payloads and wrong realms', async () => {
  const r = await realm();
  for (const bad of [null, 42, 'x', {}, { ...r.root, keys: [] }, { ...r.root, extra: 1 }, { ...r.root, threshold: 0 }, { ...r.root, realm: '../etc' }]) {
    const p = parseRoot(bad);
    assert.equal(p.ok, false);
    if (!p.ok) assert.equal(p.refusal.code, 'malformed');
  }
  const good = await r.index(1, []);
  for (const bad of [null, [], {}, { ...good, payload: '***' }, { ...good, signatures: [] }, { ...good, extra: true }, { ...good, signatures: [{ keyid: 'zz', sig: 'x' }] }]) {
    const res = await acceptIndex(r.root, bad, EMPTY_TRUST, NOW);
    assert.equal(res.ok, false);
    if (!res.ok) assert.equal(res.refusal.code, 'malformed');
  }
  // Correctly signed garbage is still refused, after the signature check.
  const { signEnvelope } = await import('../../../worker/realms/signing.ts');
  for (const body of ['not json', '{"format":"kingdom.realm-index/1"}', JSON.stringify({ format: 'kingdom.realm-index/1', realm: 'team', version: 1, issuedAt: iso(NOW), expiresAt: iso(NOW + DAY), katas: [{ name: '__proto__', version: '1.0.0' }] })]) {
    const env = await signEnvelope('application/vnd.kingdom.realm-index+json', new TextEncoder().encode(body), r.keys);
    refused(await acceptIndex(r.root, env, EMPTY_TRUST, NOW), 'malformed', false);
  }
  const other = await signIndex({ realm: 'other', version: 1, issuedAt: iso(NOW), expiresAt: iso(NOW + DAY), katas: [], rotations: [] }, r.keys);
  refused(await acceptIndex(r.root, other, EMPTY_TRUST, NOW), 'wrong_realm', true);
});

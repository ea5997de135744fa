/**
 * Realms in words (src/lib/realms/words.ts) and the install checklist (src/lib/realms/proposal.ts):
 * incident headlines name the kata version and say nothing was installed; the capability diff in
 * words; a proposal read from the kernel's fields or, where it lacks one, from the index entry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffCapabilities, diffSentence, installFailureSentence, installStageWords, namedVersion, refusalHeadline, relativeTime } from '../../../src/lib/realms/words.ts';
import { readProposal } from '../../../src/lib/realms/proposal.ts';
import type { KataVersion } from '../../../src/lib/realms/types.ts';

test('a re-pointed version is a plain headline naming it, and says nothing was installed', () => {
  const h = refusalHeadline({ code: 'repointed', message: 'The index maps deploy-service@1.2.0 to 9f… but 3a… was seen before.' });
  assert.equal(h, "This realm's index maps deploy-service@1.2.0 to different bytes than before: someone may have tampered with it. Nothing was installed. Ask the realm's owner before trusting it again.");
  for (const code of ['bad_signature', 'rollback', 'expired', 'wrong_realm', 'key_changed', 'name_collision', 'malformed', 'split_view', 'something_new']) {
    const s = refusalHeadline({ code, message: 'x' });
    assert.match(s, /Nothing was installed\./, code);
    assert.doesNotMatch(s, /_/, `${code}: no code in the sentence`);
  }
  assert.equal(namedVersion('seen finance.audit@2.0.0-rc.1 before'), 'finance.audit@2.0.0-rc.1');
  assert.equal(namedVersion('no version here'), null);
});

test('install failures are sentences with what to do, for each code', () => {
  assert.match(installFailureSentence({ code: 'tampered', message: '' }, 'hello-kata', '1.0.0'), /^The pack of hello-kata@1\.0\.0 does not match the realm's signed index.*Nothing was installed\./);
  assert.match(installFailureSentence({ code: 'weird', message: '' }, 'a', '1.0.0'), /nothing was installed/);
});

test('the capability diff: added and removed per kind, in words', () => {
  const d = diffCapabilities({ hosts: ['a.example'], runners: ['http'], secrets: ['OLD'] }, { hosts: ['a.example', 'b.example'], runners: ['http'], secrets: [] });
  assert.deepEqual(d.hosts, { added: ['b.example'], removed: [], kept: ['a.example'] });
  assert.deepEqual(d.secrets, { added: [], removed: ['OLD'], kept: [] });
  assert.equal(diffSentence(d), 'The new version adds host it may call: b.example; removes secret it reads: OLD.');
  assert.equal(diffSentence(diffCapabilities({ hosts: [], runners: [], secrets: [] }, { hosts: [], runners: [], secrets: [] })), 'The new version asks for exactly the same capabilities.');
});

test('stage words and relative times', () => {
  assert.equal(installStageWords('proposed'), 'Waiting for your approval.');
  assert.match(installStageWords('approved', 'verifying'), /Verifying/);
  assert.equal(relativeTime('2026-01-08T00:00:00Z', Date.parse('2026-01-01T00:00:00Z')), 'in 7 days');
  assert.equal(relativeTime('2026-01-01T00:00:00Z', Date.parse('2026-01-01T02:00:00Z')), '2 hours ago');
});

const entry: KataVersion = {
  version: '1.1.0', sha256: 'c'.repeat(64), size: 1234, publisherKey: 'd'.repeat(64), kingdom: '>=0.1.0',
  requires: { runners: ['http'], skills: [] }, capabilities: { hosts: ['api.example.com'], runners: ['http'], secrets: ['TOKEN'] },
  deprecated: false, compatible: true, why: [],
};

test('a proposal read from the kernel: entry fields, requirements, an upgrade with its diff', () => {
  const c = readProposal({
    entry: { version: '1.1.0', sha256: 'e'.repeat(64), size: 99, publisherKey: 'f'.repeat(64) },
    requires: { kingdom: '>=0.2.0', runners: ['http'], skills: ['mail.search'] },
    capabilities: { hosts: ['api.example.com', 'new.example.com'], runners: ['http'], secrets: [] },
    compatibility: { compatible: false, why: ['Needs the skill mail.search, which is not installed.'] },
    installed: { version: '1.0.0', capabilities: { hosts: ['api.example.com'], runners: ['http'], secrets: ['TOKEN'] } },
  }, 'deploy-service', '1.1.0', entry);
  assert.equal(c.sha256, 'e'.repeat(64));
  assert.equal(c.size, 99);
  assert.equal(c.kingdom, '>=0.2.0');
  assert.deepEqual(c.requires.skills, ['mail.search']);
  assert.equal(c.compatible, false);
  assert.deepEqual(c.why, ['Needs the skill mail.search, which is not installed.']);
  assert.equal(c.upgrade?.from, '1.0.0');
  assert.deepEqual(c.upgrade?.diff.hosts.added, ['new.example.com']);
  assert.deepEqual(c.upgrade?.diff.secrets.removed, ['TOKEN']);
});

test('a proposal missing fields falls back to the index entry; a diff given as added/removed is read', () => {
  const c = readProposal({ installedVersion: '0.9.0', capabilityDiff: { hosts: { added: ['api.example.com'], removed: ['old.example.com'] } } }, 'k', '1.1.0', entry);
  assert.equal(c.sha256, 'c'.repeat(64));
  assert.equal(c.size, 1234);
  assert.deepEqual(c.capabilities.secrets, ['TOKEN']);
  assert.equal(c.upgrade?.from, '0.9.0');
  assert.deepEqual(c.upgrade?.diff.hosts, { added: ['api.example.com'], removed: ['old.example.com'], kept: [] });
  assert.equal(readProposal(null, 'k', '1.1.0', entry).upgrade, null, 'a first install has no diff');
  const kernelForm = readProposal({ entry: { ...entry, kingdom: '>=0.3.0' }, indexVersion: 4, compatible: false, why: [{ code: 'kingdom', message: 'Needs Kingdom >=0.3.0.' }],
    upgradeFrom: { version: '1.0.0', capabilities: { hosts: [], runners: ['http'], secrets: ['TOKEN'] } }, diff: null, lookalike: 'deploy_service' }, 'k', '1.1.0', null);
  assert.deepEqual(kernelForm.why, ['Needs Kingdom >=0.3.0.'], 'reasons given as { code, message }');
  assert.equal(kernelForm.kingdom, '>=0.3.0');
  assert.equal(kernelForm.upgrade?.from, '1.0.0');
  assert.deepEqual(kernelForm.upgrade?.diff.hosts.added, ['api.example.com']);
  assert.equal(kernelForm.lookalike, 'deploy_service');
  assert.equal(readProposal({ installed: { version: '1.1.0' } }, 'k', '1.1.0', entry).upgrade, null, 'the same version is a reinstall, not an upgrade');
});

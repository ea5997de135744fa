/**
 * The Dojo's matching of a request to the katas of the enabled realms (src/lib/realms/match.ts):
 * stems, stop words, where a word was found and the ranking.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchKatas, matchReason, stem, words } from '../../../src/lib/realms/match.ts';
import type { KataRow, KataVersion } from '../../../src/lib/realms/types.ts';

function version(v: string, compatible = true): KataVersion {
  return { version: v, sha256: 'a'.repeat(64), size: 10, publisherKey: 'b'.repeat(64), kingdom: '*', requires: { runners: [], skills: [] },
    capabilities: { hosts: [], runners: [], secrets: [] }, deprecated: false, compatible, why: compatible ? [] : ['Needs the skill mail.search.'] };
}
function kata(name: string, tags: string[], description: string, compatible = true, realm = 'team'): KataRow {
  return { realm, name, description, tags, complexity: 'simple', installed: null, versions: [version('1.0.0', compatible)] };
}

const KATAS = [
  kata('deploy-service', ['ops', 'deploy'], 'Validate, deploy and record a service deployment'),
  kata('finance.subscriptions', ['finance', 'monthly'], 'Find recurring subscriptions in your mail', false),
  kata('finance.audit', ['finance', 'audit'], 'A monthly audit of spending'),
  kata('notes.summary', ['notes'], 'Summarise the day'),
];

test('stems: plurals, -ing, -ed and -ment endings; short words stay', () => {
  assert.equal(stem('subscriptions'), 'subscription');
  assert.equal(stem('deployment'), 'deploy');
  assert.equal(stem('deploying'), 'deploy');
  assert.equal(stem('deployed'), 'deploy');
  assert.equal(stem('policies'), 'policy');
  assert.equal(stem('boxes'), 'box');
  assert.equal(stem('ops'), 'ops', 'three letters are left alone');
  assert.equal(stem('class'), 'class');
});

test('words drop stop words and repeats, keep order, split on punctuation', () => {
  assert.deepEqual(words('Please deploy the api-gateway, and deploy it to staging!'), ['deploy', 'api', 'gateway', 'staging']);
  assert.deepEqual(words('I want to'), []);
});

test('a request matches by name first, then tags, then description; why is named', () => {
  const m = matchKatas('I need to deploy my service to staging', KATAS);
  assert.equal(m[0]?.kata.name, 'deploy-service');
  assert.deepEqual(m[0]?.matched.name, ['deploy', 'service']);
  assert.deepEqual(m[0]?.matched.tags, ['deploy']);
  assert.match(matchReason(m[0]!), /“deploy”, “service” in its name; “deploy” in its tags/);
  assert.equal(m.length, 1, 'no other kata mentions these words');
});

test('plural and prefix forms match; incompatible katas still match but rank after compatible ones', () => {
  const m = matchKatas('track my monthly finance subscription', KATAS);
  assert.deepEqual(m.map((x) => x.kata.name), ['finance.subscriptions', 'finance.audit']);
  assert.equal(m[0]!.compatible, false, 'shown, with why it cannot be installed');
  const tie = matchKatas('finance', KATAS);
  assert.deepEqual(tie.map((x) => x.kata.name), ['finance.audit', 'finance.subscriptions'], 'same score: the compatible one first');
});

test('nothing matches: empty; a request of stop words only: empty; the limit holds', () => {
  assert.deepEqual(matchKatas('water the plants', KATAS), []);
  assert.deepEqual(matchKatas('please do it', KATAS), []);
  assert.equal(matchKatas('finance', KATAS, 1).length, 1);
});

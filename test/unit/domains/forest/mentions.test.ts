/**
 * [[Wiki links]] typed in a node's body (worker/domains/forest/mentions.ts): links on save,
 * unresolved until a node with that title exists, backlinks on the node mentioned, code is not a
 * link, deterministic across a rebuild and across devices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memKernel, newKey, type Kernel } from '../../../helpers/kernel.ts';
import { wikiLinks } from '../../../../worker/domains/forest/mentions.ts';

type Got = { mentions: { target: string; label: string; id: string | null }[]; mentionedBy: { id: string; title: string }[] };
const create = (k: Kernel, title: string, body: string) =>
  (k.command({ type: 'forest.node.create', payload: { title, body, tags: [] }, idempotencyKey: newKey() }).value as { nodeId: string }).nodeId;
const get = (k: Kernel, id: string) => k.query('forest.node.get', { id }) as Got;

test('wikiLinks: targets once each, labels, nothing inside code', () => {
  assert.deepEqual(wikiLinks('See [[Deploy]] and [[deploy|the deploy]], [[ Rollback plan |plan]].\n`[[not code]]`\n```\n[[nor this]]\n```'),
    [{ target: 'Deploy', label: 'Deploy' }, { target: 'Rollback plan', label: 'plan' }]);
  assert.deepEqual(wikiLinks('[[]] [[a\nb]] no links'), []);
});

test('typed links resolve by title, unresolved ones resolve when the note appears, backlinks follow', async () => {
  const k = await memKernel();
  try {
    const a = create(k, 'Runbook', 'Before [[Deploy]], read [[Rollback plan|the plan]].');
    let got = get(k, a);
    assert.deepEqual(got.mentions.map((m) => [m.target, m.id]), [['Deploy', null], ['Rollback plan', null]], 'unresolved until the notes exist');
    const d = create(k, 'deploy', 'How we ship.');
    got = get(k, a);
    assert.equal(got.mentions[0]!.id, d, 'resolved case-insensitively once the note exists');
    assert.equal(got.mentions[1]!.label, 'the plan');
    assert.deepEqual(get(k, d).mentionedBy, [{ id: a, title: 'Runbook' }]);
    // An update without a body keeps them; one that removes the link removes the backlink.
    k.command({ type: 'forest.node.update', payload: { nodeId: a, tags: ['ops'] }, idempotencyKey: newKey() });
    assert.equal(get(k, a).mentions.length, 2);
    k.command({ type: 'forest.node.update', payload: { nodeId: a, body: 'Only [[Rollback plan]] now.' }, idempotencyKey: newKey() });
    assert.deepEqual(get(k, d).mentionedBy, []);
    const before = k.digest(['forest_mentions']);
    k.rebuild(['forest_mentions']);
    assert.deepEqual(k.digest(['forest_mentions']), before, 'a rebuild derives the same mentions');
  } finally {
    await k.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wikiPieces } from '../../../src/lib/forest/wiki.ts';

test('wikiPieces: links with their resolution, labels, code and empty targets left as text', () => {
  const body = 'See [[Deploy|the deploy]] then [[Missing]].\n`[[code]]` [[ ]]';
  assert.deepEqual(wikiPieces(body, [{ target: 'deploy', id: 'n1' }, { target: 'Missing', id: null }]), [
    { kind: 'text', text: 'See ' },
    { kind: 'link', text: 'the deploy', target: 'Deploy', id: 'n1' },
    { kind: 'text', text: ' then ' },
    { kind: 'link', text: 'Missing', target: 'Missing', id: null },
    { kind: 'text', text: '.\n`[[code]]` [[ ]]' },
  ]);
  assert.equal(wikiPieces('', []).length, 0);
});

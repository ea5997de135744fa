/**
 * `[[` link completion in the note editor (src/lib/forest/complete.ts): when it is open, what
 * picking a title does to the text and the caret, the search it sends, and the titles it offers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { insertLink, openLink, rankTitles, searchFor } from '../../../src/lib/forest/complete.ts';

test('openLink: between [[ and the caret on one line, until ] or |', () => {
  assert.deepEqual(openLink('See [[Oth', 9), { start: 4, query: 'Oth' });
  assert.deepEqual(openLink('See [[', 6), { start: 4, query: '' });
  assert.deepEqual(openLink('See [[Oth and more', 9), { start: 4, query: 'Oth' }, 'only up to the caret');
  assert.equal(openLink('See [[Other]] now', 17), null, 'closed');
  assert.equal(openLink('See [[Other|la', 14), null, 'typing a label');
  assert.equal(openLink('See [[Oth\nnext', 14), null, 'another line');
  assert.equal(openLink('No link here', 12), null);
  assert.deepEqual(openLink('[[A]] and [[B', 13), { start: 10, query: 'B' }, 'the last [[');
});

test('insertLink: [[Title]] in place of what was typed, a closing ]] after the caret eaten, caret after it', () => {
  const text = 'See [[Oth and more';
  assert.deepEqual(insertLink(text, openLink(text, 9)!, 9, 'Other'), { text: 'See [[Other]] and more', caret: 13 });
  const closed = 'See [[Oth]] and more';
  assert.deepEqual(insertLink(closed, openLink(closed, 9)!, 9, 'Other'), { text: 'See [[Other]] and more', caret: 13 });
});

test('searchFor: the typed words, the last one as a prefix; nothing usable gives null', () => {
  assert.equal(searchFor('Oth'), 'Oth*');
  assert.equal(searchFor('deploy run'), 'deploy run*');
  assert.equal(searchFor('a "quoted" * -not'), 'a quoted*');
  assert.equal(searchFor('  '), null);
  assert.equal(searchFor('***'), null);
});

test('rankTitles: titles holding every typed word, those starting with it first, linkable ones only', () => {
  const items = ['Web 0 (mentions Other)', 'Brother', 'Other', 'Others [draft]', 'other|x', 'Unrelated'].map((title, i) => ({ id: String(i), title }));
  assert.deepEqual(rankTitles(items, 'oth').map((i) => i.title), ['Other', 'Web 0 (mentions Other)', 'Brother']);
  assert.deepEqual(rankTitles(items, 'web other').map((i) => i.title), ['Web 0 (mentions Other)']);
  assert.equal(rankTitles(items, '', 3).length, 3);
  assert.ok(rankTitles(items, '').every((i) => !/[\]|]/.test(i.title)), 'a title with ] or | cannot be a wiki link');
});

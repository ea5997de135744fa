/**
 * Hot reload's pure part (src/lib/manifests/folder-sync.ts): files are told apart by size and
 * lastModified first, then by the SHA-256 of their text; each changed file is one apply, a
 * touched-but-unchanged file none, a refused file is not sent again until it changes, a failure
 * not about the file is tried again, and oversized files are reported unread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffStamps, MAX_BYTES, syncOnce, type ApplyAnswer, type FileEntry, type Known } from '../../../src/lib/manifests/folder-sync.ts';

/** An in-memory folder whose files count their reads. */
class Folder {
  files = new Map<string, { text: string; lastModified: number }>();
  reads = 0;
  write(path: string, text: string, at: number): void {
    this.files.set(path, { text, lastModified: at });
  }
  entries(): FileEntry[] {
    return [...this.files].map(([path, f]) => ({ path, size: new TextEncoder().encode(f.text).length, lastModified: f.lastModified, read: async () => {
      this.reads++;
      return f.text;
    } }));
  }
}

function recorder(answer: (path: string, text: string) => ApplyAnswer = () => ({ outcome: 'applied', detail: '' })) {
  const calls: string[] = [];
  return { calls, apply: async (path: string, text: string): Promise<ApplyAnswer> => {
    calls.push(path);
    return answer(path, text);
  } };
}

test('diffStamps: new and re-stamped files are read, same stamps are not, missing files are gone', () => {
  const known = new Map<string, Known>([['a.yaml', { size: 10, lastModified: 1, hash: 'x' }], ['b.yaml', { size: 5, lastModified: 1, hash: 'y' }], ['c.yaml', { size: 5, lastModified: 1, hash: 'z' }]]);
  const d = diffStamps(known, [
    { path: 'a.yaml', size: 10, lastModified: 1 },
    { path: 'b.yaml', size: 5, lastModified: 2 },
    { path: 'd.yaml', size: 1, lastModified: 1 },
  ]);
  assert.deepEqual(d, { read: ['b.yaml', 'd.yaml'], gone: ['c.yaml'] });
});

test('one apply per changed file; unchanged stamps are not read; a touch without a change applies nothing', async () => {
  const folder = new Folder();
  folder.write('tools/deploy.yaml', 'kind: Tool\n', 1);
  folder.write('agent.yml', 'kind: Agent\n', 1);
  const known = new Map<string, Known>();
  const r = recorder();
  const first = await syncOnce(known, folder.entries(), r.apply);
  assert.deepEqual(r.calls, ['agent.yml', 'tools/deploy.yaml'], 'every file once, in path order');
  assert.equal(first.length, 2);

  const reads = folder.reads;
  assert.deepEqual(await syncOnce(known, folder.entries(), r.apply), [], 'nothing changed: nothing applied');
  assert.equal(folder.reads, reads, 'and nothing read: the stamps are the same');

  folder.write('agent.yml', 'kind: Agent\n', 2); // touched
  assert.deepEqual(await syncOnce(known, folder.entries(), r.apply), []);
  assert.equal(folder.reads, reads + 1, 'a new stamp is read…');
  assert.equal(r.calls.length, 2, '…but the same text is not applied again');

  folder.write('tools/deploy.yaml', 'kind: Tool\nname: x\n', 3);
  await syncOnce(known, folder.entries(), r.apply);
  assert.deepEqual(r.calls.slice(2), ['tools/deploy.yaml'], 'the changed file, once');
});

test('a refused file is not sent again until it changes; a failure that is not about the file is retried', async () => {
  const folder = new Folder();
  folder.write('bad.yaml', 'kind: Tol\n', 1);
  folder.write('ok.yaml', 'kind: Tool\n', 1);
  const known = new Map<string, Known>();
  let busy = true;
  const r = recorder((path) => path === 'bad.yaml'
    ? { outcome: 'refused', detail: 'kind must be one of …', issues: [{ line: 1, column: 7, message: 'kind must be one of …' }] }
    : busy ? { outcome: 'failed', detail: 'the kernel is busy' } : { outcome: 'applied', detail: 'Tool/x@1.0.0' });
  const first = await syncOnce(known, folder.entries(), r.apply);
  assert.deepEqual(first.map((x) => [x.path, x.answer.outcome]), [['bad.yaml', 'refused'], ['ok.yaml', 'failed']]);
  busy = false;
  const second = await syncOnce(known, folder.entries(), r.apply);
  assert.deepEqual(second.map((x) => [x.path, x.answer.outcome]), [['ok.yaml', 'applied']], 'the failed one again, the refused one not');
  folder.write('bad.yaml', 'kind: Tool\n', 2);
  const third = await syncOnce(known, folder.entries(), r.apply);
  assert.deepEqual(third.map((x) => x.path), ['bad.yaml'], 'fixed: sent once more');
});

test('a file over the size bound is reported, not read; a file that cannot be read is reported and retried', async () => {
  const known = new Map<string, Known>();
  const r = recorder();
  let reads = 0;
  const entries: FileEntry[] = [
    { path: 'huge.yaml', size: MAX_BYTES + 1, lastModified: 1, read: async () => { reads++; return ''; } },
    { path: 'gone.yaml', size: 3, lastModified: 1, read: async () => { throw new Error('NotFoundError'); } },
  ];
  const out = await syncOnce(known, entries, r.apply);
  assert.deepEqual(out.map((x) => [x.path, x.answer.outcome]), [['gone.yaml', 'failed'], ['huge.yaml', 'skipped']]);
  assert.equal(reads, 0);
  assert.deepEqual(r.calls, []);
  assert.ok(!known.has('gone.yaml'), 'an unread file is looked at again next time');
});

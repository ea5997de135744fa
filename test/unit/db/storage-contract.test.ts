/**
 * The storage adapter contract (test/contract/storage-contract.ts) against the Node adapters:
 * `memoryAdapter()` and `fileAdapter(tmpfile)`. The OPFS adapter runs the same cases in Chromium
 * (test/e2e/contract.test.ts).
 *
 * Run: node --import tsx --test test/unit/db/storage-contract.test.ts
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runContract, storageContract, type ContractOptions } from '../../contract/storage-contract.ts';
import type { OpenedDatabase, StorageAdapter } from '../../../worker/kernel/db/adapter.ts';
import { memoryAdapter } from '../../../worker/kernel/db/memory-adapter.ts';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';

describe('storage contract: memoryAdapter()', () => {
  for (const c of storageContract(() => memoryAdapter(), { durable: false, reopen: false })) {
    test(c.name, c.skip ? { skip: c.skip } : {}, c.run);
  }
});

describe('storage contract: fileAdapter(tmpfile)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kingdom-contract-'));
  let n = 0;
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const c of storageContract(() => fileAdapter(join(dir, `db-${++n}.sqlite3`)), { durable: true, reopen: true })) {
    test(c.name, c.skip ? { skip: c.skip } : {}, c.run);
  }
});

/** The contract has teeth: adapters that break one promise each fail exactly the matching case. */
describe('storage contract: catches broken adapters', () => {
  type Patch = (o: OpenedDatabase) => OpenedDatabase;
  const broken = (patch: Patch): StorageAdapter => {
    const inner = memoryAdapter();
    return { kind: inner.kind, location: inner.location, open: async () => patch(await inner.open()) };
  };
  const failing = async (make: () => StorageAdapter, opts: ContractOptions, name: string): Promise<string> => {
    const c = storageContract(make, opts).find((x) => x.name === name);
    assert.ok(c, `case "${name}" exists`);
    const [r] = await runContract([c]);
    assert.equal(r!.status, 'fail', `"${name}" must fail for this adapter`);
    return r!.error ?? '';
  };

  test('an adapter that claims durability without WAL fails the journal-mode case', async () => {
    const err = await failing(() => broken((o) => ({ ...o, durable: true, sizeBytes: o.sizeBytes, close: o.close })),
      { durable: true, reopen: false }, 'durable adapters report WAL journal mode and exclusive locking');
    assert.match(err, /journal_mode: expected "wal"/);
  });

  test('a close() that is not idempotent fails the close case', async () => {
    const err = await failing(() => broken((o) => {
      let closes = 0;
      return { ...o, sizeBytes: o.sizeBytes, close: async () => {
        if (++closes > 1) throw new Error('closed twice');
        await o.close();
      } };
    }), { durable: false, reopen: false }, 'close() is idempotent and releases the storage');
    assert.match(err, /closed twice/);
  });

  test('a sizeBytes() that never grows fails the size case', async () => {
    const err = await failing(() => broken((o) => ({ ...o, sizeBytes: () => 4096, close: o.close })),
      { durable: false, reopen: false }, 'sizeBytes() grows after writes');
    assert.match(err, /sizeBytes\(\) grew/);
  });

  test('an adapter that forgets data on reopen fails the reopen case', async () => {
    // Claims it can reopen, but every open() is a new in-memory database.
    const err = await failing(() => memoryAdapter(), { durable: false, reopen: true }, 'a rolled-back transaction leaves nothing behind');
    assert.match(err, /no such table|rows after rollback and reopen/);
  });
});

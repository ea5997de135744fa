/**
 * The error catalogue (worker/kernel/errors.ts).
 *
 * Invariants checked:
 * 1. A KernelError survives structuredClone of its plain form (`toJSON`/`fromData`) intact.
 * 2. Anything that is not a KernelError becomes `internal`; details are plain JSON.
 * 3. Every code in ERROR_CODES is documented in docs/errors.md.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, fail, isKernelErrorData, KernelError, type ErrorCode } from '../../../worker/kernel/errors.ts';
import { catchError, memKernel, newKey } from '../../helpers/kernel.ts';

const DOC = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

describe('KernelError', () => {
  test('survives structuredClone of its plain form with code, message and details intact', () => {
    const err = new KernelError('version_conflict', 'expectedVersion 1 but at 2', {
      stream: 'workspace:x', expectedVersion: 1, actualVersion: 2, nested: { list: [1, 'a', null, true] },
    });
    const back = KernelError.fromData(structuredClone(err.toJSON()));
    assert.ok(back instanceof KernelError);
    assert.equal(back.name, 'KernelError');
    assert.equal(back.code, err.code);
    assert.equal(back.message, err.message);
    assert.deepEqual(back.details, err.details);
  });

  test('a real command failure survives structuredClone intact', async () => {
    const k = await memKernel();
    try {
      const err = catchError(() => k.command({ type: 'workspace.rename', payload: { workspaceId: crypto.randomUUID(), name: 'x' }, idempotencyKey: newKey() }));
      assert.ok(err instanceof KernelError);
      const back = KernelError.fromData(structuredClone(err.toJSON()));
      assert.equal(back.code, 'not_found');
      assert.equal(back.message, err.message);
      assert.deepEqual(back.details, err.details);
    } finally {
      await k.close();
    }
  });

  test('details are converted to plain JSON (non-finite numbers, bigints, undefined)', () => {
    const err = new KernelError('internal', 'x', { a: NaN as unknown as number, b: 5n as unknown as number, c: undefined as unknown as null });
    assert.deepEqual(err.details, { a: 'NaN', b: '5', c: null });
    assert.doesNotThrow(() => structuredClone(err.toJSON()));
  });

  test('KernelError.from keeps a KernelError and wraps anything else as internal', () => {
    const k = new KernelError('not_found', 'gone');
    assert.equal(KernelError.from(k), k);
    assert.equal(KernelError.from(new TypeError('boom')).code, 'internal');
    assert.equal(KernelError.from('text').code, 'internal');
    assert.equal(KernelError.from(k.toJSON()).code, 'not_found');
  });

  test('isKernelErrorData refuses unknown codes', () => {
    assert.equal(isKernelErrorData({ name: 'KernelError', code: 'nope', message: 'x' }), false);
    assert.equal(isKernelErrorData({ name: 'KernelError', code: 'not_found', message: 'x' }), true);
  });

  test('fail() yields plain data that structuredClone keeps', () => {
    const r = fail(new KernelError('archived', 'archived thing', { id: 'x' }));
    assert.deepEqual(structuredClone(r), r);
  });
});

describe('docs/errors.md', () => {
  test('documents every code in ERROR_CODES', () => {
    const codes = Object.keys(ERROR_CODES) as ErrorCode[];
    if (!existsSync(DOC)) {
      assert.fail(`docs/errors.md does not exist; it must document these ${codes.length} codes: ${codes.join(', ')}`);
    }
    const doc = readFileSync(DOC, 'utf8');
    const missing = codes.filter((c) => !doc.includes(`\`${c}\``));
    assert.deepEqual(missing, [], `docs/errors.md does not document (as \`code\`): ${missing.join(', ')}`);
  });
});

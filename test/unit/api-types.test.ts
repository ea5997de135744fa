/**
 * The typed maps stay typed (checked by `npm run check`, which compiles this file): QueryMap and
 * CommandMap are inferred from the slices' definitions, so an unknown name, a wrong param or a
 * wrong payload does not compile, and results carry the slices' own shapes. If a slice's
 * definitions lose their literal types (e.g. annotated `QueryDefinition[]` again), the
 * `@ts-expect-error` lines below stop being errors and the check fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandType, QueryName, QueryParams, QueryResult, TypedCommand } from '../../worker/api.ts';
import { openKingdom } from '../../worker/node/index.ts';

// @ts-expect-error an unknown query name
export const unknownName: QueryName = 'session.nope';
// @ts-expect-error internal queries are not part of the public map
export const internalName: QueryName = 'secret.values';
// @ts-expect-error a param the schema does not have
export const wrongParam: QueryParams<'session.list'> = { statuz: 'running' };
// @ts-expect-error internal commands are not part of the public map
export const internalCommand: CommandType = 'device.key.register';
// @ts-expect-error a payload field the schema does not have
export const wrongPayload: TypedCommand = { type: 'workspace.create', payload: { nam: 'Acme' } };
export const goodPayload: TypedCommand = { type: 'workspace.create', payload: { name: 'Acme' } };

test('typed queries answer the shapes their types say', async () => {
  const api = await openKingdom({ engine: false });
  try {
    await api.command({ ...goodPayload, idempotencyKey: 'w' });
    const r = await api.query('workspace.list', {});
    assert.ok(r.ok);
    const list: QueryResult<'workspace.list'> = r.value;
    assert.ok(list.some((w) => w.name === 'Acme'), 'the created workspace (after the default one)');
    const tags = await api.query('forest.tags', {});
    assert.ok(tags.ok && Array.isArray(tags.value));
  } finally {
    await api.close();
  }
});

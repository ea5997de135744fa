/**
 * Commands through the kernel (worker/kernel/kernel.ts): validation, idempotency, optimistic
 * versions, batches and purity of decide.
 *
 * Invariants checked:
 * 1. A repeated idempotency key returns the first result with `replayed: true` and appends nothing;
 *    the same key with another payload or type is refused (`idempotency_key_reused`).
 * 2. Envelope and payload are strict: unknown fields are refused with a message naming them.
 * 3. `expectedVersion` is checked against the target stream (`version_conflict` with details).
 * 4. `commandBatch` commits all or nothing.
 * 5. Time comes from the injected clock; `kernel.ping` appends nothing.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../../worker/kernel/errors.ts';
import { catchError, createWorkspace, eventCount, FIXED_MS, memKernel, newKey, settle, stateDigest, tableSha, type Kernel } from '../../helpers/kernel.ts';
import type { EventEnvelope } from '../../../worker/kernel/log/envelope.ts';

async function withMem<T>(fn: (k: Kernel) => T | Promise<T>, opts: Parameters<typeof memKernel>[0] = {}): Promise<T> {
  const k = await memKernel(opts);
  try {
    return await fn(k);
  } finally {
    await k.close();
  }
}

function expectCode(fn: () => unknown, code: string): KernelError {
  const err = catchError(fn);
  assert.ok(err instanceof KernelError, `expected a KernelError, got ${String(err)}`);
  assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
  return err;
}

describe('idempotency', () => {
  test('repeating a command with the same key returns the first result with replayed: true and appends nothing', () =>
    withMem((k) => {
      const cmd = { type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey() };
      const first = k.command(cmd);
      assert.equal(first.replayed, false);
      const before = stateDigest(k);
      const again = k.command(cmd);
      assert.equal(again.replayed, true);
      assert.deepEqual({ ...again, replayed: false }, first);
      assert.deepEqual(stateDigest(k), before, 'nothing appended or changed');
    }));

  test('a replay is recognised whatever the key order of the payload', () =>
    withMem((k) => {
      const key = newKey();
      const first = k.command({ type: 'workspace.create', payload: { name: 'Acme', description: 'd' }, idempotencyKey: key });
      const again = k.command({ type: 'workspace.create', payload: { description: 'd', name: 'Acme' }, idempotencyKey: key });
      assert.equal(again.replayed, true);
      assert.deepEqual(again.events, first.events);
    }));

  test('the same key with a different payload is refused with idempotency_key_reused and appends nothing', () =>
    withMem((k) => {
      const key = newKey();
      k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: key });
      const before = stateDigest(k);
      const err = expectCode(() => k.command({ type: 'workspace.create', payload: { name: 'Other' }, idempotencyKey: key }), 'idempotency_key_reused');
      assert.equal(err.details['idempotencyKey'], key);
      assert.ok(err.message.includes(key));
      assert.deepEqual(stateDigest(k), before);
    }));

  test('the same key for a different command type is refused with idempotency_key_reused', () =>
    withMem((k) => {
      const key = newKey();
      const id = (k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: key }).value as { workspaceId: string }).workspaceId;
      const before = stateDigest(k);
      const err = expectCode(() => k.command({ type: 'workspace.archive', payload: { workspaceId: id }, idempotencyKey: key }), 'idempotency_key_reused');
      assert.equal(err.details['firstType'], 'workspace.create');
      assert.deepEqual(stateDigest(k), before);
    }));

  test('the same key with a different expectedVersion is refused with idempotency_key_reused', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      const key = newKey();
      k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'B' }, idempotencyKey: key, expectedVersion: 1 });
      expectCode(() => k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'B' }, idempotencyKey: key }), 'idempotency_key_reused');
    }));

  test('a failed command does not consume its idempotency key', () =>
    withMem((k) => {
      createWorkspace(k, 'Acme');
      const key = newKey();
      expectCode(() => k.command({ type: 'workspace.create', payload: { name: 'acme' }, idempotencyKey: key }), 'already_exists');
      const r = k.command({ type: 'workspace.create', payload: { name: 'Fresh' }, idempotencyKey: key });
      assert.equal(r.replayed, false);
      assert.equal(r.events.length, 1);
    }));

  test('a mutating command without an idempotency key is refused with idempotency_key_required', () =>
    withMem((k) => {
      const before = stateDigest(k);
      const err = expectCode(() => k.command({ type: 'workspace.create', payload: { name: 'Acme' } }), 'idempotency_key_required');
      assert.equal(err.details['field'], 'idempotencyKey');
      assert.deepEqual(stateDigest(k), before);
    }));
});

describe('validation', () => {
  test('an unknown command type is refused with unknown_command naming the type', () =>
    withMem((k) => {
      const err = expectCode(() => k.command({ type: 'workspace.explode', payload: {}, idempotencyKey: newKey() }), 'unknown_command');
      assert.ok(err.message.includes('workspace.explode'));
      assert.ok(err.message.includes('workspace.create'), 'lists the known commands');
    }));

  test('an unknown field in the payload is refused with invalid_payload naming the field', () =>
    withMem((k) => {
      const before = eventCount(k);
      const err = expectCode(() => k.command({ type: 'workspace.create', payload: { name: 'Acme', colour: 'red' }, idempotencyKey: newKey() }), 'invalid_payload');
      assert.match(err.message, /colour/);
      assert.equal(eventCount(k), before);
    }));

  test('an unknown field in the envelope is refused with invalid_command naming the field', () =>
    withMem((k) => {
      const before = eventCount(k);
      const err = expectCode(
        () => k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey(), priority: 'high' } as never),
        'invalid_command',
      );
      assert.match(err.message, /priority/);
      assert.equal(eventCount(k), before);
    }));

  test('a missing required payload field is refused with invalid_payload naming the field', () =>
    withMem((k) => {
      const err = expectCode(() => k.command({ type: 'project.create', payload: { name: 'P' }, idempotencyKey: newKey() }), 'invalid_payload');
      assert.match(err.message, /payload\.workspaceId/);
    }));

  test('a payload field of the wrong type is refused with invalid_payload naming the field', () =>
    withMem((k) => {
      const err = expectCode(() => k.command({ type: 'workspace.create', payload: { name: 42 }, idempotencyKey: newKey() }), 'invalid_payload');
      assert.match(err.message, /payload\.name/);
    }));

  test('a command the kernel reserves for itself is refused through the public surface', () =>
    withMem((k) => {
      const before = stateDigest(k);
      const err = catchError(() => k.command({
        type: 'device.key.register',
        payload: { device: k.deviceId, keyId: '0'.repeat(16), publicKey: '0'.repeat(64), algorithm: 'Ed25519' },
        idempotencyKey: newKey(),
      }));
      assert.ok(err instanceof KernelError);
      assert.notEqual(err.code, 'internal');
      assert.deepEqual(stateDigest(k), before, 'no key was registered');
    }));
});

describe('expectedVersion', () => {
  test('a stale expectedVersion is refused with version_conflict and stream/expected/actual details', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'B' }, idempotencyKey: newKey() });
      const before = stateDigest(k);
      const err = expectCode(
        () => k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'C' }, idempotencyKey: newKey(), expectedVersion: 1 }),
        'version_conflict',
      );
      assert.deepEqual(err.details, { stream: `workspace:${id}`, expectedVersion: 1, actualVersion: 2 });
      assert.deepEqual(stateDigest(k), before);
    }));

  test('the current expectedVersion succeeds and the result reports the new stream version', () =>
    withMem((k) => {
      const id = createWorkspace(k, 'Acme');
      const r = k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'B' }, idempotencyKey: newKey(), expectedVersion: 1 });
      assert.equal(r.streamVersion, 2);
      const r2 = k.command({ type: 'workspace.rename', payload: { workspaceId: id, name: 'C' }, idempotencyKey: newKey(), expectedVersion: r.streamVersion });
      assert.equal(r2.streamVersion, 3);
    }));

  test('expectedVersion 0 on a create without an id means "new stream" and succeeds', () =>
    withMem((k) => {
      const r = k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey(), expectedVersion: 0 });
      assert.equal(r.streamVersion, 1);
    }));

  test('a create with a client id and expectedVersion 0 conflicts once the stream exists', () =>
    withMem((k) => {
      const id = crypto.randomUUID();
      k.command({ type: 'workspace.create', payload: { workspaceId: id, name: 'Acme' }, idempotencyKey: newKey(), expectedVersion: 0 });
      const err = expectCode(
        () => k.command({ type: 'workspace.create', payload: { workspaceId: id, name: 'Other' }, idempotencyKey: newKey(), expectedVersion: 0 }),
        'version_conflict',
      );
      assert.equal(err.details['actualVersion'], 1);
    }));
});

describe('commandBatch', () => {
  test('one failing command commits nothing from the batch', () =>
    withMem((k) => {
      createWorkspace(k, 'Taken');
      const before = stateDigest(k);
      const keys = [newKey(), newKey(), newKey()];
      const err = catchError(() => k.commandBatch([
        { type: 'workspace.create', payload: { name: 'One' }, idempotencyKey: keys[0]! },
        { type: 'workspace.create', payload: { name: 'Two' }, idempotencyKey: keys[1]! },
        { type: 'workspace.create', payload: { name: 'taken' }, idempotencyKey: keys[2]! },
      ]));
      assert.ok(err instanceof KernelError);
      assert.equal(err.code, 'already_exists');
      assert.deepEqual(stateDigest(k), before, 'events, idempotency, audit and projections unchanged');
      // The keys of the rolled-back commands were not consumed.
      const r = k.command({ type: 'workspace.create', payload: { name: 'One' }, idempotencyKey: keys[0]! });
      assert.equal(r.replayed, false);
    }));

  test('an invalid envelope late in the batch commits nothing', () =>
    withMem((k) => {
      const before = stateDigest(k);
      expectCode(() => k.commandBatch([
        { type: 'workspace.create', payload: { name: 'One' }, idempotencyKey: newKey() },
        { type: 'workspace.create', payload: { name: 'Two' }, idempotencyKey: '' },
      ]), 'invalid_command');
      assert.deepEqual(stateDigest(k), before);
    }));

  test('a batch whose commands depend on each other commits them together in order', () =>
    withMem((k) => {
      const wsId = crypto.randomUUID();
      const results = k.commandBatch([
        { type: 'workspace.create', payload: { workspaceId: wsId, name: 'W' }, idempotencyKey: newKey() },
        { type: 'project.create', payload: { workspaceId: wsId, name: 'P' }, idempotencyKey: newKey() },
        { type: 'workspace.rename', payload: { workspaceId: wsId, name: 'W2' }, idempotencyKey: newKey(), expectedVersion: 1 },
      ]);
      const seqs = results.flatMap((r) => r.events.map((e) => e.seq));
      assert.deepEqual(seqs, [seqs[0]!, seqs[0]! + 1, seqs[0]! + 2]);
      assert.equal(results[2]!.streamVersion, 2);
    }));

  test('a key repeated inside one batch is replayed, not executed twice', () =>
    withMem((k) => {
      const cmd = { type: 'workspace.create', payload: { name: 'Once' }, idempotencyKey: newKey() };
      const before = eventCount(k);
      const [a, b] = k.commandBatch([cmd, cmd]);
      assert.equal(a!.replayed, false);
      assert.equal(b!.replayed, true);
      assert.deepEqual(b!.events, a!.events);
      assert.equal(eventCount(k), before + 2, 'one workspace.created (after the key registration of the first write)');
      assert.equal(k.readEvents(0, 100, { types: ['workspace.created'] }).length, 1);
    }));

  test('a key repeated inside one batch with another payload fails the whole batch', () =>
    withMem((k) => {
      const key = newKey();
      const before = stateDigest(k);
      expectCode(() => k.commandBatch([
        { type: 'workspace.create', payload: { name: 'A' }, idempotencyKey: key },
        { type: 'workspace.create', payload: { name: 'B' }, idempotencyKey: key },
      ]), 'idempotency_key_reused');
      assert.deepEqual(stateDigest(k), before);
    }));

  test('subscribers never see events of a rolled-back batch', () =>
    withMem(async (k) => {
      const seen: EventEnvelope[] = [];
      k.subscribe((b) => void seen.push(...b));
      createWorkspace(k, 'Taken');
      catchError(() => k.commandBatch([
        { type: 'workspace.create', payload: { name: 'Ghost' }, idempotencyKey: newKey() },
        { type: 'workspace.create', payload: { name: 'TAKEN' }, idempotencyKey: newKey() },
      ]));
      await settle();
      assert.deepEqual(seen.filter((e) => e.type === 'workspace.created').map((e) => (e.payload as { name: string }).name), ['Taken']);
      assert.equal(seen.at(-1)!.seq, k.status().headSeq);
    }));
});

describe('decide context', () => {
  test('event times come from the injected clock', () =>
    withMem((k) => {
      const r = k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey() });
      const e = k.readEvents(r.events[0]!.seq - 1, 1)[0]!;
      assert.equal(e.at, new Date(FIXED_MS).toISOString());
      const ws = k.query('workspace.get', { workspaceId: (r.value as { workspaceId: string }).workspaceId }) as { createdAt: string };
      assert.equal(ws.createdAt, new Date(FIXED_MS).toISOString());
    }, { clock: () => FIXED_MS }));

  test('kernel.ping answers with the clock time, needs no key and appends nothing', () =>
    withMem((k) => {
      const before = stateDigest(k);
      const r = k.command({ type: 'kernel.ping', payload: { echo: 'hi' } });
      assert.deepEqual(r.value, { pong: true, at: new Date(FIXED_MS).toISOString(), echo: 'hi' });
      assert.deepEqual(r.events, []);
      assert.equal(r.replayed, false);
      k.command({ type: 'kernel.ping', payload: {} });
      k.command({ type: 'kernel.ping', payload: {}, idempotencyKey: newKey() });
      assert.deepEqual(stateDigest(k), before);
      assert.equal(tableSha(k, 'idempotency'), before['table:idempotency']);
    }, { clock: () => FIXED_MS }));

  test('a command without a payload field is treated as an empty payload (CommandInput.payload is optional)', () =>
    withMem((k) => {
      // CommandInput declares `payload?` and prepare() falls back to `payload ?? {}`, so omitting it
      // must behave like `payload: {}` (and like `payload: undefined`, which is accepted).
      const explicitUndefined = k.command({ type: 'kernel.ping', payload: undefined });
      assert.equal((explicitUndefined.value as { pong: boolean }).pong, true);
      const omitted = k.command({ type: 'kernel.ping' });
      assert.equal((omitted.value as { pong: boolean }).pong, true);
    }));

  test('the actor of the envelope is recorded on the event', () =>
    withMem((k) => {
      const r = k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey(), actor: 'session-7' });
      assert.equal(k.readEvents(r.events[0]!.seq - 1, 1)[0]!.actor, 'session-7');
    }));
});

describe('strings that are not well-formed UTF-16', () => {
  // SQLite stores TEXT as UTF-8, so a lone surrogate is replaced by U+FFFD on the way in while the
  // hash was computed over the JS string: such strings must be refused at the envelope, or stored
  // losslessly. Either outcome passes these tests; silently changing the value does not.
  test('an actor with a lone surrogate is refused or keeps the log verifiable', () =>
    withMem(async (k) => {
      let accepted = true;
      try {
        k.command({ type: 'workspace.create', payload: { name: 'Acme' }, idempotencyKey: newKey(), actor: 'user\uD800' });
      } catch (err) {
        accepted = false;
        assert.ok(err instanceof KernelError);
        assert.equal(err.code, 'invalid_command');
      }
      const report = await k.verify();
      assert.equal(report.ok, true, `accepted=${accepted}; verify: ${JSON.stringify(report.broken)}`);
    }));

  test('two idempotency keys differing only in a lone surrogate are not confused', () =>
    withMem((k) => {
      const outcomes: string[] = [];
      for (const [key, name] of [['key-\uD800', 'One'], ['key-\uD801', 'Two']] as const) {
        try {
          outcomes.push(k.command({ type: 'workspace.create', payload: { name }, idempotencyKey: key }).replayed ? 'replayed' : 'ok');
        } catch (err) {
          outcomes.push((err as KernelError).code);
        }
      }
      assert.ok(
        JSON.stringify(outcomes) === '["ok","ok"]' || JSON.stringify(outcomes) === '["invalid_command","invalid_command"]',
        `expected both accepted as distinct keys or both refused, got ${JSON.stringify(outcomes)}`,
      );
    }));
});

/**
 * Command preparation: everything checked BEFORE the write transaction begins, in this order —
 * envelope (strict), command type, internal-only commands, payload schema (strict zod),
 * idempotency key presence, idempotency replay (same key + same request -> stored result; same
 * key + different request -> idempotency_key_reused). Reads only the idempotency table.
 */
import { KernelError, type Json } from '../errors.ts';
import type { Sql } from '../db/sql.ts';
import type { EventStore } from '../log/event-store.ts';
import type { CommandDefinition } from '../module.ts';
import { canonicalJson } from '../log/canonical.ts';
import { sha256Hex } from '../log/hash.ts';
import { commandEnvelopeSchema, zodError, type CommandInput, type CommandResult } from './envelope.ts';

export interface Prepared {
  readonly def: CommandDefinition;
  readonly payload: unknown;
  readonly key: string | undefined;
  readonly expectedVersion: number | undefined;
  readonly actor: string;
  readonly requestHash: string;
  readonly replay: CommandResult | undefined;
}

export function prepareCommand(
input: CommandInput,
internal: boolean,
commands: ReadonlyMap<string, CommandDefinition>,
sql: Sql,
defaultActor: string,
): Prepared {
  const env = commandEnvelopeSchema.safeParse(input);
  if (!env.success) throw zodError('invalid_command', 'command', '', env.error);
  const { type, payload, idempotencyKey, expectedVersion, actor } = env.data;
  const def = commands.get(type);
  if (!def) {
    throw new KernelError('unknown_command', `Unknown command "${type}". Known commands: ${[...commands.keys()].sort().join(', ')}.`, { type });
  }
  if (def.internal && !internal) {
    throw new KernelError('forbidden', `${type} is reserved for the kernel itself and cannot be sent through the API.`, { type });
  }
  const parsed = def.schema.safeParse(payload ?? {});
  if (!parsed.success) throw zodError('invalid_payload', type, 'payload', parsed.error);
  if (def.mutates && idempotencyKey === undefined) {
    throw new KernelError('idempotency_key_required',
      `${type} changes state and needs an idempotencyKey: send a unique string per intended change (e.g. a UUID) and reuse it on retries.`,
      { type, field: 'idempotencyKey' });
  }
  const requestHash = sha256Hex(canonicalJson({ type, payload: (payload ?? {}) as Json, expectedVersion: expectedVersion ?? null }));
  let replay: CommandResult | undefined;
  if (def.mutates && idempotencyKey !== undefined) {
    const row = sql.get('SELECT command_type, request_hash, result FROM idempotency WHERE key = ?', [idempotencyKey]);
    if (row) {
      if (row['request_hash'] !== requestHash) throw reusedKey(idempotencyKey, type, String(row['command_type']));
      replay = { ...(JSON.parse(String(row['result'])) as Omit<CommandResult, 'replayed'>), replayed: true };
    }
  }
  return { def, payload: parsed.data, key: idempotencyKey, expectedVersion, actor: actor ?? defaultActor, requestHash, replay };
}

export function reusedKey(key: string, type: string, firstType = type): KernelError {
  return new KernelError('idempotency_key_reused',
    `idempotencyKey "${key}" was already used for a different ${firstType} command; use a new key for a new change.`,
    { idempotencyKey: key, type, firstType });
}

/**
 * Throw `version_conflict` when `stream` is not at `expected` (no check when undefined).
 * `uncounted`: how many of its events here do not count (a removed device's after its removal:
 * projections/registry.ts, invariant 6), so the version is the one projections show.
 */
export function checkVersion(store: EventStore, stream: string, expected: number | undefined, type: string, uncounted: (stream: string) => number = () => 0): void {
  if (expected === undefined) return;
  const actual = store.streamVersion(stream) - uncounted(stream);
  if (actual !== expected) {
    throw new KernelError('version_conflict',
      `${type}: expectedVersion ${expected} but ${stream} is at version ${actual}; reload it and decide again.`,
      { stream, expectedVersion: expected, actualVersion: actual });
  }
}

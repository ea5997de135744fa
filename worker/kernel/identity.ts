/**
 * This database's device identity in its log: the key registration a device writes into its own
 * chain, the record of a format-1 upgrade, and the device ids it continued from after a repair.
 *
 * Invariants:
 * 1. Each returns the internal command to run (or null when nothing is owed); the kernel runs it
 *    as the system, so it is validated, audited and idempotent like any command.
 * 2. `meta.previous_devices` lists the ids this database wrote under before a repair cut.
 */
import type { Sql } from './db/sql.ts';
import type { CommandInput } from './commands/envelope.ts';
import type { DeviceKeyPair } from './log/keys.ts';
import { KEY_REGISTER_COMMAND, LOG_UPGRADE_COMMAND } from './core-module.ts';

/** The registration of `key` in `device`'s chain, unless the log already has it. */
export function keyRegistration(sql: Sql, device: string, key: DeviceKeyPair): CommandInput | null {
  const known = sql.value(
    "SELECT 1 FROM events WHERE type = 'device.key_registered' AND json_extract(payload, '$.keyId') = ? LIMIT 1",
    [key.keyId],
  );
  if (known) return null;
  return {
    type: KEY_REGISTER_COMMAND,
    payload: { device, keyId: key.keyId, publicKey: key.publicKeyHex, algorithm: 'Ed25519' },
    idempotencyKey: `device-key:${key.keyId}`,
    actor: 'system',
  };
}

/** After an upgrade from format 1: its record (once; the idempotency key makes a repeat a no-op). */
export function logUpgradeRecord(sql: Sql): CommandInput | null {
  const raw = sql.value("SELECT value FROM meta WHERE key = 'log_upgrade'");
  if (typeof raw !== 'string') return null;
  const upgrade = JSON.parse(raw) as { legacyHead: { hash: string } };
  return { type: LOG_UPGRADE_COMMAND, payload: upgrade, idempotencyKey: `log-upgrade:${upgrade.legacyHead.hash}`, actor: 'system' };
}

/** The device ids this database wrote under before its current one (repair cuts). */
export function previousDevices(sql: Sql): string[] {
  const v = sql.value("SELECT value FROM meta WHERE key = 'previous_devices'");
  return typeof v === 'string' ? (JSON.parse(v) as string[]) : [];
}

/** Record that this database continues as `id`, after `previous` (current first). */
export function recordNewDevice(sql: Sql, id: string, previous: readonly string[]): void {
  sql.transaction(() => {
    sql.run("UPDATE meta SET value = ? WHERE key = 'device_id'", [id]);
    sql.run("INSERT INTO meta (key, value) VALUES ('previous_devices', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [JSON.stringify(previous)]);
  });
}

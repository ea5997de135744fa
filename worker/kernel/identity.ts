/**
 * This database's device identity in its log: its id, signing key and checkpointer (OwnDevice),
 * the key registration a device writes into its own chain, the record of a format-1 upgrade, and
 * the device ids it continued from after a repair.
 *
 * Invariants:
 * 1. Each function returns the internal command to run (or null when nothing is owed); the kernel
 *    runs it as the system, so it is validated, audited and idempotent like any command.
 * 2. `meta.previous_devices` lists the ids this database wrote under before a repair cut.
 * 3. One checkpointer signs one device's chain: rotating the device stops the old one first.
 */
import type { Sql } from './db/sql.ts';
import type { CommandInput } from './commands/envelope.ts';
import type { DeviceKeyPair, KeyStore } from './log/keys.ts';
import { Checkpointer, type AuditHead } from './log/checkpointer.ts';
import { KEY_REGISTER_COMMAND, LOG_UPGRADE_COMMAND } from './core-module.ts';

/** This database's device: its id, its signing key, the ids it continued from, its checkpointer. */
export class OwnDevice {
  checkpointer: Checkpointer;
  private previous: string[];

  constructor(
    private readonly sql: Sql,
    private readonly keys: KeyStore,
    public id: string,
    public key: DeviceKeyPair,
    private readonly signing: { readonly clock: () => number; readonly every: number; readonly auditHead: AuditHead },
  ) {
    this.previous = previousDevices(sql);
    this.checkpointer = this.makeCheckpointer();
  }

  /** The current id first, then the ids this database continued from after repair cuts. */
  all(): string[] {
    return [this.id, ...this.previous];
  }

  /** A fresh checkpointer (after a repair; the old one is stopped). */
  restartSigning(): void {
    this.checkpointer.stop();
    this.checkpointer = this.makeCheckpointer();
  }

  /** Continue under device `id` with its own key (after a cut). */
  async rotate(id: string): Promise<void> {
    const previous = this.all();
    recordNewDevice(this.sql, id, previous);
    this.checkpointer.stop();
    this.previous = previous;
    this.id = id;
    this.key = (await this.keys.load(id)) ?? (await this.keys.create(id));
    this.checkpointer = this.makeCheckpointer();
  }

  private makeCheckpointer(): Checkpointer {
    const id = this.id;
    return new Checkpointer(this.sql, this.key, id, this.signing.clock, this.signing.every, this.signing.auditHead,
      (a) => this.keys.saveAnchor(id, a));
  }
}

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

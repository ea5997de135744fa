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
 * 4. The key is registered lazily (decision 31): first in the transaction of the first batch that
 *    extends this device's chain, so the registration precedes every event and checkpoint of the
 *    chain, and a device that only takes in other devices' history writes nothing of its own.
 */
import type { Sql } from './db/sql.ts';
import type { CommandInput } from './commands/envelope.ts';
import type { Prepared } from './commands/prepare.ts';
import type { DeviceKeyPair, KeyStore } from './log/keys.ts';
import { Checkpointer, type AuditHead } from './log/checkpointer.ts';
import { KEY_REGISTER_COMMAND, LOG_UPGRADE_COMMAND } from './core-module.ts';

/** This database's device: its id, its signing key, the ids it continued from, its checkpointer. */
export class OwnDevice {
  checkpointer: Checkpointer;
  private previous: string[];
  /** The current key is known to be registered in the log (never unset but by a rotation). */
  private keyInLog = false;

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

  /**
   * The registration of the current key, when `batch` may extend this device's chain and the log
   * does not have it yet: the kernel runs it first, in the batch's transaction. Null for a batch
   * that cannot append (queries, replays) or that registers the key itself.
   */
  keyOwedBefore(batch: readonly Prepared[]): CommandInput | null {
    if (this.keyInLog || !batch.some((p) => p.def.mutates && !p.replay) || batch.some((p) => p.def.type === KEY_REGISTER_COMMAND)) return null;
    const owed = keyRegistration(this.sql, this.id, this.key);
    this.keyInLog = owed === null;
    return owed;
  }

  /**
   * At open: the registration owed now, only when this device's chain already has events (its key
   * was replaced: the next checkpoint signs with the new one). An empty chain registers lazily.
   */
  keyOwedAtOpen(chainLength: number): CommandInput | null {
    if (chainLength === 0) return null;
    const owed = keyRegistration(this.sql, this.id, this.key);
    this.keyInLog = owed === null;
    return owed;
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
    this.keyInLog = false;
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

/**
 * Versioned schema migrations for the kernel's own tables (projection tables are owned and
 * versioned by their projections, see projections/registry.ts).
 *
 * Invariants:
 * 1. The schema version is `PRAGMA user_version` and mirrored in `meta.schema_version`.
 * 2. Migrations run in one transaction each; a failure leaves the previous version intact.
 * 3. A database whose version is above `SCHEMA_VERSION` is refused (`schema_too_new`) before
 *    anything is written to it.
 * 4. `events`, `audit` and `checkpoints` are append-only: triggers abort any UPDATE or DELETE.
 * 5. A migration with an `up` step runs it after its SQL in the same transaction (schema 3
 *    re-chains format-1 events per device, see upgradeLogFormat).
 */
import type { Database } from '@sqlite.org/sqlite-wasm';
import { KernelError } from '../errors.ts';
import { upgradeLogFormat } from './upgrade-log.ts';
import { appendOnlyTriggers } from './append-only.ts';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
  readonly up?: (db: Database) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'event log, idempotency, audit chain, checkpoints, projection heads',
    sql: `
      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;

      CREATE TABLE events (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        stream     TEXT NOT NULL,
        stream_seq INTEGER NOT NULL,
        type       TEXT NOT NULL,
        v          INTEGER NOT NULL,
        at         TEXT NOT NULL,
        actor      TEXT NOT NULL,
        device     TEXT NOT NULL,
        payload    TEXT NOT NULL,
        prev       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        UNIQUE (stream, stream_seq)
      ) STRICT;
      CREATE INDEX events_type ON events (type, seq);
      CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
      CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

      CREATE TABLE idempotency (
        key          TEXT PRIMARY KEY,
        command_type TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        result       TEXT NOT NULL,
        at           TEXT NOT NULL
      ) STRICT;

      CREATE TABLE audit (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        action     TEXT NOT NULL,
        event_id   TEXT NOT NULL,
        event_seq  INTEGER NOT NULL,
        actor      TEXT NOT NULL,
        device     TEXT NOT NULL,
        at         TEXT NOT NULL,
        prev       TEXT NOT NULL,
        hash       TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;

      CREATE TABLE checkpoints (
        seq        INTEGER PRIMARY KEY,
        head_hash  TEXT NOT NULL,
        device     TEXT NOT NULL,
        key_id     TEXT NOT NULL,
        signature  TEXT NOT NULL,
        at         TEXT NOT NULL
      ) STRICT;

      CREATE TABLE projections (
        name     TEXT PRIMARY KEY,
        version  INTEGER NOT NULL,
        head_seq INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'content-addressed blobs (large step outputs) and the secrets store',
    sql: `
      -- Referenced by events (by SHA-256), never by projections; rebuild leaves them alone.
      CREATE TABLE blobs (
        hash       TEXT PRIMARY KEY,
        size       INTEGER NOT NULL,
        media_type TEXT NOT NULL,
        data       TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE TRIGGER blobs_immutable BEFORE UPDATE ON blobs
        BEGIN SELECT RAISE(ABORT, 'blobs are immutable'); END;

      -- Secret values live here only: the log records that a secret was set, never its value.
      CREATE TABLE secrets (
        name       TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    description: 'per-device hash chains (format 2): device_seq, hlc and merge order; checkpoints per device, append-only; ingest quarantine',
    sql: `
      -- Another device's chain that did not verify: kept here, visible, never applied.
      CREATE TABLE quarantine (
        id         INTEGER PRIMARY KEY,
        device     TEXT NOT NULL,
        device_seq INTEGER NOT NULL,
        reason     TEXT NOT NULL,
        message    TEXT NOT NULL,
        event      TEXT NOT NULL,
        at         TEXT NOT NULL
      ) STRICT;
      CREATE INDEX quarantine_device ON quarantine (device);
      -- What an explicit repair cut off the log (never deleted): the rows as they were, with the
      -- repair that moved them (kernel.repair('cut')).
      CREATE TABLE events_cut (repair TEXT NOT NULL, row TEXT NOT NULL) STRICT;
      CREATE TABLE audit_cut (repair TEXT NOT NULL, row TEXT NOT NULL) STRICT;
      CREATE TABLE checkpoints_cut (repair TEXT NOT NULL, row TEXT NOT NULL) STRICT;
      -- Events that verified on their own but arrived before an earlier event of their chain.
      CREATE TABLE ingest_parked (
        device     TEXT NOT NULL,
        device_seq INTEGER NOT NULL,
        event      TEXT NOT NULL,
        PRIMARY KEY (device, device_seq)
      ) STRICT;
    `,
    up: upgradeLogFormat,
  },
  {
    version: 4,
    description: 'secret values scoped by workspace; existing ones go to the default workspace',
    sql: `
      -- Secret names are unique per workspace. The id is DEFAULT_WORKSPACE_ID
      -- (worker/domains/workspaces/scope.ts): where everything from before workspaces lives.
      CREATE TABLE secrets_scoped (
        workspace_id TEXT NOT NULL,
        name         TEXT NOT NULL,
        value        TEXT NOT NULL,
        updated_at   TEXT NOT NULL,
        PRIMARY KEY (workspace_id, name)
      ) STRICT;
      INSERT INTO secrets_scoped (workspace_id, name, value, updated_at)
        SELECT '00000000-0000-4000-8000-000000000000', name, value, updated_at FROM secrets;
      DROP TABLE secrets;
      ALTER TABLE secrets_scoped RENAME TO secrets;
    `,
  },
  {
    version: 5,
    description: 'projection snapshots, so a late event of another device re-derives from the newest one before it',
    sql: `
      -- One row per snapshot; its tables are snapshot_<id>_<table> (worker/kernel/projections/snapshots.ts).
      CREATE TABLE projection_snapshots (
        id       INTEGER PRIMARY KEY,
        ord      TEXT NOT NULL,
        pos      INTEGER NOT NULL,
        versions TEXT NOT NULL,
        tables   TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 6,
    description: 'the merge key is an index on (hlc, device) instead of a stored column: rows ~120 bytes shorter',
    // Snapshots name merge keys of the old form: they are dropped (the next ingest takes new ones).
    up: dropAllSnapshots,
    sql: `
      DROP TRIGGER IF EXISTS events_append_only_update;
      DROP TRIGGER IF EXISTS events_append_only_delete;
      CREATE TABLE events_v6 (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        device      TEXT NOT NULL,
        device_seq  INTEGER NOT NULL,
        hlc         TEXT NOT NULL,
        stream      TEXT NOT NULL,
        stream_seq  INTEGER NOT NULL,
        stream_base INTEGER NOT NULL,
        type        TEXT NOT NULL,
        v           INTEGER NOT NULL,
        at          TEXT NOT NULL,
        actor       TEXT NOT NULL,
        payload     TEXT NOT NULL,
        prev        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        legacy_hash TEXT,
        UNIQUE (device, device_seq),
        UNIQUE (stream, stream_seq)
      ) STRICT;
      INSERT INTO events_v6 (seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash, legacy_hash)
        SELECT seq, id, device, device_seq, hlc, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash, legacy_hash FROM events ORDER BY seq;
      DROP TABLE events;
      ALTER TABLE events_v6 RENAME TO events;
      CREATE INDEX events_type ON events (type, seq);
      -- The merge order (worker/kernel/log/envelope.ts, mergeKey / ORD_SQL).
      CREATE UNIQUE INDEX events_ord ON events ((hlc || '|' || device));
      ${appendOnlyTriggers('events')}
    `,
  },
];

/** Drop every projection snapshot and its tables (migration 6). */
function dropAllSnapshots(db: Database): void {
  const rows = db.exec({ sql: 'SELECT id, tables FROM projection_snapshots', rowMode: 'object', returnValue: 'resultRows' }) as { id: number; tables: string }[];
  for (const r of rows) for (const t of JSON.parse(r.tables) as string[]) db.exec(`DROP TABLE IF EXISTS "snapshot_${r.id}_${t}"`);
  db.exec('DELETE FROM projection_snapshots');
}

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Throw `schema_too_new` when the database was written by a newer Kingdom. Read-only, so it can run
 * before the adapter switches journal modes (the file stays byte-for-byte unchanged). Returns the
 * version found.
 */
export function assertSchemaSupported(db: Database, appVersion: string, migrations: readonly Migration[] = MIGRATIONS): number {
  const found = Number(db.selectValue('PRAGMA user_version'));
  const target = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (found > target) {
    throw new KernelError(
      'schema_too_new',
      `The database has schema version ${found} but this Kingdom (${appVersion}) understands up to ${target}. ` +
        'Open it with a newer Kingdom, or export and re-import your data; it was not changed.',
      { found, supported: target, appVersion },
    );
  }
  return found;
}

/**
 * Bring the database to SCHEMA_VERSION. Returns the version found before migrating.
 * Throws `schema_too_new` (nothing written) or `migration_failed` (rolled back).
 */
export function migrate(db: Database, appVersion: string, migrations: readonly Migration[] = MIGRATIONS): number {
  const found = assertSchemaSupported(db, appVersion, migrations);
  for (const m of migrations) {
    if (m.version <= found) continue;
    try {
      db.transaction((tx) => {
        if (m.sql) tx.exec(m.sql);
        m.up?.(tx);
        tx.exec({
          sql: `INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('app_version', ?2)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          bind: [String(m.version), appVersion],
        });
        tx.exec(`PRAGMA user_version = ${m.version}`);
      });
    } catch (err) {
      if (err instanceof KernelError && err.code === 'integrity_error') throw err;
      throw new KernelError(
        'migration_failed',
        `Migration ${m.version} (${m.description}) failed: ${err instanceof Error ? err.message : String(err)}. ` +
          `The database stays at version ${found}.`,
        { version: m.version, found },
      );
    }
  }
  return found;
}

/**
 * Schema 3: the log moves from one hash chain per database (format 1: `seq`, `streamSeq` and the
 * global `prev` inside the hash) to one chain per device (format 2, log/envelope.ts), so events
 * keep their identity on every device.
 *
 * Invariants:
 * 1. The format-1 chain is verified first (links and hashes); a broken one is refused with
 *    `integrity_error` naming the first broken link, and the database stays at schema 2: a
 *    tampered history is never re-chained (laundered) under new hashes.
 * 2. Every event keeps its row, `seq`, `streamSeq`, payload and id; it gains `device_seq` (its
 *    position in its device's chain), an `hlc` (from its `at`, strictly increasing per device),
 *    a format-2 `prev`/`hash`, and `legacy_hash` (its format-1 hash), so verify still checks every
 *    old event by the old rules, and the old checkpoints (signed format-1 heads) still verify.
 * 3. `meta.log_upgrade` records the re-chaining; the kernel appends it as a `kernel.log_upgraded`
 *    event on first open and signs the new head with a checkpoint (the signed migration record).
 */
import type { Database, SqlValue } from '@sqlite.org/sqlite-wasm';
import { KernelError } from '../errors.ts';
import { GENESIS } from '../log/hash.ts';
import { hashEventWithPayloadJson, legacyHash } from '../log/envelope.ts';
import { formatHlc } from '../log/hlc.ts';
import { appendOnlyTriggers } from './append-only.ts';

export const EVENTS_TABLE_V3 = `
  CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    device      TEXT NOT NULL,
    device_seq  INTEGER NOT NULL,
    hlc         TEXT NOT NULL,
    ord         TEXT NOT NULL UNIQUE,
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
  CREATE INDEX events_type ON events (type, seq);
  ${appendOnlyTriggers('events')}
`;

export const CHECKPOINTS_TABLE_V3 = `
  CREATE TABLE checkpoints (
    id          INTEGER PRIMARY KEY,
    device      TEXT NOT NULL,
    device_seq  INTEGER NOT NULL,
    head_hash   TEXT NOT NULL,
    audit_seq   INTEGER,
    audit_hash  TEXT,
    key_id      TEXT NOT NULL,
    signature   TEXT NOT NULL,
    at          TEXT NOT NULL,
    format      INTEGER NOT NULL,
    UNIQUE (device, device_seq, format)
  ) STRICT;
  ${appendOnlyTriggers('checkpoints')}
`;

const PAGE = 2000;

type Row = Record<string, SqlValue>;

function rows(db: Database, sql: string, bind: SqlValue[]): Row[] {
  return db.exec({ sql, bind, rowMode: 'object', returnValue: 'resultRows' }) as Row[];
}

export function upgradeLogFormat(db: Database): void {
  db.exec(`
    DROP TRIGGER IF EXISTS events_append_only_update;
    DROP TRIGGER IF EXISTS events_append_only_delete;
    ALTER TABLE events RENAME TO events_format1;
    DROP INDEX IF EXISTS events_type;
    ALTER TABLE checkpoints RENAME TO checkpoints_format1;
  `);
  db.exec(EVENTS_TABLE_V3);
  db.exec(CHECKPOINTS_TABLE_V3);

  const chains = new Map<string, { deviceSeq: number; hash: string; wall: number; counter: number }>();
  let legacyPrev = GENESIS;
  let expected = 1;
  let cursor = 0;
  let last: { seq: number; legacy: string; device: string; deviceSeq: number; hash: string } | null = null;
  for (;;) {
    const page = rows(db, 'SELECT * FROM events_format1 WHERE seq > ? ORDER BY seq LIMIT ?', [cursor, PAGE]);
    if (page.length === 0) break;
    for (const r of page) {
      const seq = Number(r['seq']);
      const payload = String(r['payload']);
      const old = {
        id: String(r['id']), seq, stream: String(r['stream']), streamSeq: Number(r['stream_seq']), type: String(r['type']),
        v: Number(r['v']), at: String(r['at']), actor: String(r['actor']), device: String(r['device']), prev: String(r['prev']),
      };
      if (seq !== expected) refuse(expected, `event ${expected} is missing (the next stored event is ${seq})`);
      if (old.prev !== legacyPrev) refuse(seq, `event ${seq}'s prev does not match the hash of event ${seq - 1}`);
      if (legacyHash(old, payload) !== String(r['hash'])) refuse(seq, `event ${seq}'s contents do not match its hash`);
      legacyPrev = String(r['hash']);
      expected++;
      cursor = seq;

      const chain = chains.get(old.device) ?? { deviceSeq: 0, hash: GENESIS, wall: 0, counter: 0 };
      const ms = Date.parse(old.at);
      const wall = Number.isFinite(ms) && ms > chain.wall ? ms : chain.wall;
      const counter = wall === chain.wall && chain.deviceSeq > 0 ? chain.counter + 1 : 0;
      const hlc = formatHlc(counter > 0xffff ? wall + 1 : wall, counter > 0xffff ? 0 : counter);
      const deviceSeq = chain.deviceSeq + 1;
      const identity = {
        id: old.id, device: old.device, deviceSeq, hlc, prev: chain.hash,
        stream: old.stream, streamBase: old.streamSeq - 1, type: old.type, v: old.v, at: old.at, actor: old.actor,
      };
      const hash = hashEventWithPayloadJson(identity, payload);
      db.exec({
        sql: `INSERT INTO events (seq, id, device, device_seq, hlc, ord, stream, stream_seq, stream_base, type, v, at, actor, payload, prev, hash, legacy_hash)
              VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
        // Schema 3's stored merge key (hlc|device|hash); schema 6 drops the column for an index.
        bind: [seq, old.id, old.device, deviceSeq, hlc, `${hlc}|${old.device}|${hash}`, old.stream, old.streamSeq, old.streamSeq - 1, old.type, old.v,
          old.at, old.actor, payload, chain.hash, hash, legacyPrev],
      });
      const parsed = { wall: parseInt(hlc.slice(0, 12), 16), counter: parseInt(hlc.slice(12), 16) };
      chains.set(old.device, { deviceSeq, hash, ...parsed });
      last = { seq, legacy: legacyPrev, device: old.device, deviceSeq, hash };
    }
  }

  // Old checkpoints signed format-1 heads: kept as format 1, pointing at the chain position.
  for (const c of rows(db, 'SELECT * FROM checkpoints_format1 ORDER BY seq', [])) {
    const at = rows(db, 'SELECT device, device_seq FROM events WHERE seq = ?', [Number(c['seq'])])[0];
    db.exec({
      sql: `INSERT INTO checkpoints (device, device_seq, head_hash, audit_seq, audit_hash, key_id, signature, at, format)
            VALUES (?,?,?,NULL,NULL,?,?,?,1)`,
      bind: [at ? String(at['device']) : String(c['device']), at ? Number(at['device_seq']) : Number(c['seq']),
        String(c['head_hash']), String(c['key_id']), String(c['signature']), String(c['at'])],
    });
  }
  db.exec('DROP TABLE events_format1; DROP TABLE checkpoints_format1;');
  if (last) {
    db.exec({
      sql: "INSERT INTO meta (key, value) VALUES ('log_upgrade', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      bind: [JSON.stringify({
        fromFormat: 1, toFormat: 2, events: last.seq,
        legacyHead: { seq: last.seq, hash: last.legacy },
        head: { device: last.device, deviceSeq: last.deviceSeq, hash: last.hash },
      })],
    });
  }
}

function refuse(seq: number, why: string): never {
  throw new KernelError('integrity_error',
    `This database's log is broken at event ${seq} (${why}), so it was not upgraded to per-device chains; ` +
      'it is unchanged. Open it with the previous Kingdom to export it, or restore a backup.',
    { chain: 'events', seq, reason: 'legacy_chain_broken' });
}

/**
 * Conflicts: events written concurrently on two devices. An event carries `streamBase`, how many
 * events of its stream its writer held when it wrote it; in merge order its stream position is
 * `streamSeq`. When `streamSeq - 1 > streamBase` its writer had not seen at least one earlier event
 * of that stream: the projections resolve it by the event type's rule (EventDefinition.concurrent)
 * and this projection records that it happened, for the UI to show.
 *
 * Invariants:
 * 1. Deterministic like every projection: rows come from the event and the registry's texts only.
 * 2. One row per concurrent event; a stream written by one device at a time never has any.
 */
import { z } from 'zod';
import { defineQuery, type EventDefinition, type Projection } from '../module.ts';
import { filterClause } from '../log/event-store.ts';

export const CONFLICTS_PROJECTION = 'kernel_conflicts';

export function conflictsProjection(events: ReadonlyMap<string, EventDefinition>): Projection {
  return {
    name: CONFLICTS_PROJECTION,
    version: 1,
    tables: ['kernel_conflicts'],
    createSql: `CREATE TABLE kernel_conflicts (
      pos        INTEGER PRIMARY KEY,
      stream     TEXT NOT NULL,
      stream_pos INTEGER NOT NULL,
      unseen     INTEGER NOT NULL,
      event_id   TEXT NOT NULL,
      type       TEXT NOT NULL,
      device     TEXT NOT NULL,
      at         TEXT NOT NULL,
      resolution TEXT NOT NULL
    ) STRICT;
    CREATE INDEX kernel_conflicts_stream ON kernel_conflicts (stream, pos);`,
    apply(e, w) {
      const unseen = e.streamSeq - 1 - e.streamBase;
      if (unseen <= 0) return;
      const resolution = events.get(e.type)?.concurrent ?? 'Applied in merge order (hlc, device, hash): its changes come after the earlier ones.';
      w.run('INSERT INTO kernel_conflicts (pos, stream, stream_pos, unseen, event_id, type, device, at, resolution) VALUES (?,?,?,?,?,?,?,?,?)',
        [e.seq, e.stream, e.streamSeq, unseen, e.id, e.type, e.device, e.at, resolution]);
    },
  };
}

/** One event written concurrently on two devices, and how the merge resolved it. */
export interface ConflictRow {
  /** Place in the merge order. */
  readonly pos: number;
  /** Where the event sits in this database's log (its address in the event log). */
  readonly seq: number;
  readonly stream: string;
  readonly streamPos: number;
  /** How many earlier events of the stream its writer had not seen. */
  readonly unseen: number;
  readonly eventId: string;
  readonly type: string;
  readonly device: string;
  readonly at: string;
  readonly resolution: string;
}

export const conflictsQuery = defineQuery(
  'conflicts.list',
  'Events written concurrently on two devices (their writer had not seen an earlier event of the stream), newest first, with how the merge resolved them.',
  z.strictObject({
    stream: z.string().min(1).optional(),
    streamPrefix: z.string().min(1).optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  (r, p: { stream?: string; streamPrefix?: string; limit: number }): ConflictRow[] => {
    const { where, bind } = filterClause({ ...(p.stream ? { stream: p.stream } : {}), ...(p.streamPrefix ? { streamPrefix: p.streamPrefix } : {}) });
    // `where` names stream columns only; `seq` is where the event sits in THIS database's log (the
    // event log's address), `pos` its place in the merge order.
    return r.all(`SELECT c.*, COALESCE(e.seq, 0) AS event_seq FROM kernel_conflicts c LEFT JOIN events e ON e.id = c.event_id
      WHERE 1=1${where.replaceAll(' stream', ' c.stream')} ORDER BY c.pos DESC LIMIT ?`, [...bind, p.limit]).map((row) => ({
      pos: Number(row['pos']), seq: Number(row['event_seq']), stream: String(row['stream']), streamPos: Number(row['stream_pos']), unseen: Number(row['unseen']),
      eventId: String(row['event_id']), type: String(row['type']), device: String(row['device']), at: String(row['at']),
      resolution: String(row['resolution']),
    }));
  },
);

/**
 * Queries over the kernel's own tables (log, audit, checkpoints), registered next to the
 * domain modules' queries so every read goes through `query(name, params)`.
 */
import { z } from 'zod';
import { defineQueries } from './module.ts';
import type { EventStore } from './log/event-store.ts';
import type { AuditLog } from './log/audit.ts';
import type { Sql } from './db/sql.ts';
import { listCheckpoints } from './log/checkpoint.ts';

const eventFilter = {
  types: z.array(z.string().min(1)).max(50).optional(),
  typePrefix: z.string().min(1).optional(),
  stream: z.string().min(1).optional(),
  streamPrefix: z.string().min(1).optional(),
};

export function builtinQueries(store: EventStore, audit: AuditLog, sql: Sql) {
  return defineQueries([
    {
      name: 'events.list',
      description: 'A page of events, newest first by default, filtered by type or stream.',
      schema: z.strictObject({
        ...eventFilter,
        order: z.enum(['asc', 'desc']).default('desc'),
        /** desc: events with seq < beforeSeq; asc: events with seq > afterSeq. */
        beforeSeq: z.number().int().min(1).optional(),
        afterSeq: z.number().int().min(0).optional(),
        limit: z.number().int().min(1).max(1000).default(100),
      }),
      run: (_r, p: { order: 'asc' | 'desc'; beforeSeq?: number; afterSeq?: number; limit: number; types?: string[]; typePrefix?: string; stream?: string; streamPrefix?: string }) => {
        const filter = { types: p.types, typePrefix: p.typePrefix, stream: p.stream, streamPrefix: p.streamPrefix };
        const events = p.order === 'desc'
          ? store.readBefore(p.beforeSeq ?? Number.MAX_SAFE_INTEGER, p.limit, filter)
          : store.readAfter(p.afterSeq ?? 0, p.limit, filter);
        return { events, total: store.count(filter), headSeq: store.committedHead.seq };
      },
    },
    {
      name: 'events.get',
      description: 'One event by seq (upcast to its current version).',
      schema: z.strictObject({ seq: z.number().int().min(1) }),
      run: (_r, p: { seq: number }) => store.readOne(p.seq) ?? null,
    },
    {
      name: 'events.types',
      description: 'Distinct event types and streams with counts (for filters).',
      schema: z.strictObject({}),
      run: () => ({
        types: sql.all('SELECT type, COUNT(*) AS n FROM events GROUP BY type ORDER BY type').map((r) => ({ type: String(r['type']), count: Number(r['n']) })),
      }),
    },
    {
      name: 'audit.list',
      description: 'Audit entries after a seq, oldest first.',
      schema: z.strictObject({ afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(100) }),
      run: (_r, p: { afterSeq: number; limit: number }) => audit.list(p.afterSeq, p.limit),
    },
    {
      name: 'checkpoints.list',
      description: 'Signed checkpoints after a seq, oldest first.',
      schema: z.strictObject({ afterSeq: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(1000).default(100) }),
      run: (_r, p: { afterSeq: number; limit: number }) => listCheckpoints(sql, p.afterSeq, p.limit),
    },
  ]);
}

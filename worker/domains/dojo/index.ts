/**
 * The Dojo's memory of unmet requests (docs/realms.md, "The Dojo"): when a person asks for
 * something no installed workflow does (the intent bar's model answers "none"), the request is
 * recorded as a `capability.missing` event; when a kata from a realm or a drafted one is approved
 * for it, or the person dismisses it, a `capability.resolved` event closes it. The Dojo screen
 * lists the open ones, so a miss is not forgotten when the bar is closed.
 *
 * Invariants:
 * 1. One event per command; a report names its request in the person's words (trimmed, bounded)
 *    and where it came from; nothing else (no model output beyond a one-line explanation).
 * 2. Resolving an unknown or already resolved miss is refused (`not_found`, `conflict`), so a
 *    repeated click appends nothing new.
 * 3. The projection is derived from these two event types only (rebuild gives the same rows).
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';
import { assertActiveWorkspace, workspaceField, workspaceIdSchema, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';

const request = z.string().trim().min(1, 'say what was asked for').max(2000);
const missId = z.uuid({ message: 'expected the id of a recorded miss (a UUID)' });
const how = z.enum(['installed', 'drafted', 'dismissed']);

const missingEvent = z.strictObject({
  workspaceId: workspaceIdSchema,
  id: missId,
  request,
  /** Where the request was made: the intent bar, or typed on the Dojo screen. */
  source: z.enum(['intent', 'dojo']),
  /** The model's one-line reason why no workflow fits, when it gave one. */
  explanation: z.string().max(500).optional(),
});
const resolvedEvent = z.strictObject({
  workspaceId: workspaceIdSchema,
  id: missId,
  how,
  /** What met it: `realm/kata@version` installed, the drafted workflow's name. */
  ref: z.string().min(1).max(300).optional(),
});
type Missing = z.infer<typeof missingEvent>;
type Resolved = z.infer<typeof resolvedEvent>;

const reportSchema = z.strictObject({ workspaceId: workspaceField, request, source: z.enum(['intent', 'dojo']).default('intent'), explanation: z.string().trim().max(500).optional() });
const resolveSchema = z.strictObject({ workspaceId: workspaceField, id: missId, how, ref: z.string().min(1).max(300).optional() });

const dojoStream = (workspaceId: string): string => `dojo:${workspaceId}`;

export interface CapabilityMiss {
  readonly id: string;
  readonly request: string;
  readonly source: 'intent' | 'dojo';
  readonly explanation: string | null;
  readonly at: string;
  readonly resolved: { readonly how: 'installed' | 'drafted' | 'dismissed'; readonly ref: string | null; readonly at: string } | null;
}

function readMisses(r: Reader, workspaceId: string, open: boolean, limit: number): CapabilityMiss[] {
  return r.all(`SELECT id, request, source, explanation, at, how, ref, resolved_at FROM capability_misses
      WHERE workspace_id = ? ${open ? 'AND how IS NULL' : ''} ORDER BY at DESC, id DESC LIMIT ?`, [workspaceId, limit])
    .map((x) => ({
      id: String(x['id']), request: String(x['request']), source: x['source'] === 'dojo' ? 'dojo' : 'intent',
      explanation: x['explanation'] === null ? null : String(x['explanation']), at: String(x['at']),
      resolved: x['how'] === null ? null : { how: x['how'] as 'installed' | 'drafted' | 'dismissed', ref: x['ref'] === null ? null : String(x['ref']), at: String(x['resolved_at']) },
    }));
}

export const dojoModule = {
  name: 'dojo',
  commands: defineCommands([
    {
      type: 'capability.report',
      concurrent: 'Independent: each report is its own miss (two devices reporting the same words record two).',
      description: 'Record that a person asked for something no installed workflow does (the intent bar found no match): the Dojo lists it until a kata is installed or drafted for it, or it is dismissed.',
      schema: reportSchema,
      mutates: true,
      load: (r, p: { workspaceId: string }) => workspaceStatus(r, p.workspaceId),
      decide: (ws: WorkspaceStatus, p: z.infer<typeof reportSchema>, ctx) => {
        assertActiveWorkspace(ws, p.workspaceId);
        const id = ctx.newId();
        const payload: Missing = { workspaceId: p.workspaceId, id, request: p.request, source: p.source, ...(p.explanation ? { explanation: p.explanation } : {}) };
        return { events: [{ stream: dojoStream(p.workspaceId), type: 'capability.missing', payload }], value: { id } };
      },
    },
    {
      type: 'capability.resolve',
      concurrent: 'Two resolutions of one miss: the earlier in merge order is kept (the later changes nothing).',
      description: 'Close a recorded miss: a kata was installed or drafted for it, or the person dismissed it.',
      schema: resolveSchema,
      mutates: true,
      load: (r, p: { workspaceId: string; id: string }) => ({ ws: workspaceStatus(r, p.workspaceId), row: r.get('SELECT how FROM capability_misses WHERE workspace_id = ? AND id = ?', [p.workspaceId, p.id]) }),
      decide: (s: { ws: WorkspaceStatus; row: { [k: string]: unknown } | undefined }, p: z.infer<typeof resolveSchema>) => {
        assertActiveWorkspace(s.ws, p.workspaceId);
        if (!s.row) throw new KernelError('not_found', `payload.id: no recorded request ${p.id} in this workspace; list them with capability.missing.list.`, { field: 'payload.id', id: p.id });
        if (s.row['how'] !== null) throw new KernelError('invalid_state', `payload.id: the request ${p.id} was already closed (${String(s.row['how'])}).`, { field: 'payload.id', id: p.id });
        const payload: Resolved = { workspaceId: p.workspaceId, id: p.id, how: p.how, ...(p.ref ? { ref: p.ref } : {}) };
        return { events: [{ stream: dojoStream(p.workspaceId), type: 'capability.resolved', payload }], value: { id: p.id } };
      },
    },
  ]),
  events: [
    { type: 'capability.missing', version: 1, scope: 'workspace', concurrent: 'Independent: each is its own miss.', description: 'A person asked for something no installed workflow does (the request in their words, where it was asked).', schema: missingEvent },
    { type: 'capability.resolved', version: 1, scope: 'workspace', concurrent: 'The earlier in merge order closes the miss; a later one changes nothing.', description: 'A recorded miss was closed: a kata installed or drafted for it, or dismissed.', schema: resolvedEvent },
  ],
  projections: [{
    name: 'capability_misses',
    version: 1,
    tables: ['capability_misses'],
    createSql: `CREATE TABLE capability_misses (
      workspace_id TEXT NOT NULL, id TEXT NOT NULL, request TEXT NOT NULL, source TEXT NOT NULL, explanation TEXT, at TEXT NOT NULL,
      how TEXT, ref TEXT, resolved_at TEXT, PRIMARY KEY (workspace_id, id)) STRICT;`,
    eventTypes: ['capability.missing', 'capability.resolved'],
    apply(e, w) {
      if (e.type === 'capability.missing') {
        const p = e.payload as Missing;
        w.run('INSERT OR IGNORE INTO capability_misses (workspace_id, id, request, source, explanation, at) VALUES (?,?,?,?,?,?)',
          [p.workspaceId, p.id, p.request, p.source, p.explanation ?? null, e.at]);
        return;
      }
      const p = e.payload as Resolved;
      w.run('UPDATE capability_misses SET how = ?, ref = ?, resolved_at = ? WHERE workspace_id = ? AND id = ? AND how IS NULL',
        [p.how, p.ref ?? null, e.at, p.workspaceId, p.id]);
    },
  }],
  queries: defineQueries([{
    name: 'capability.missing.list',
    description: 'Requests no installed workflow met, newest first: the open ones (default), or all with how each was closed.',
    schema: z.strictObject({ workspaceId: workspaceField, open: z.boolean().default(true), limit: z.number().int().min(1).max(500).default(50) }),
    run: (r, p: { workspaceId: string; open: boolean; limit: number }) => readMisses(r, p.workspaceId, p.open, p.limit),
  }]),
} satisfies KernelModule;

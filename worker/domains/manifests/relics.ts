/**
 * Relic health and Monument bring-up, the running side of the manifests domain (docs/manifests.md,
 * "Relics and Monuments"), part of the manifests module (index.ts spreads these in: one home for
 * the registry and what runs from it). The relic service (worker/services/relic-service.ts, started by
 * worker/root.ts next to the engine) probes every installed Relic and brings Monuments up; this
 * slice records what it finds and answers the screens.
 *
 * Invariants:
 * 1. Only CHANGES of a Relic's health are events (`relic.health_changed`): a probe that finds the
 *    recorded status again appends nothing; when it was probed last is live (live.ts).
 * 2. `monument.bring_up` records the request; the device that asked runs it and records the
 *    outcome once (`monument.bring_up_finished`), each step's state in it. While it runs, its
 *    steps are live.
 * 3. A removed Relic is not listed (the query reads the registry's table); its recorded health
 *    stays in the log.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type Decision, type Projection, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import type { RelicManifest } from '../../manifests/schema.ts';
import { assertActiveWorkspace, workspaceField, workspaceIdSchema, workspaceStatus } from '../workspaces/scope.ts';
import { parseCachedManifest, readManifestRows } from './state.ts';
import { boardOf, relicKey, type BringUpStep } from './live.ts';

const name = z.string().min(1).max(300);
const version = z.string().min(1).max(100);
const status = z.enum(['healthy', 'unhealthy']);
const healthRecord = z.strictObject({
  workspaceId: workspaceIdSchema, name, version, status,
  error: z.string().max(500).optional(), httpStatus: z.number().int().min(0).max(999).optional(),
  checkedAt: z.string().max(40), ms: z.number().min(0),
});
type HealthRecord = z.infer<typeof healthRecord>;
const step = z.strictObject({ component: z.string().max(400), kind: z.string().max(40), state: z.enum(['up', 'failed', 'skipped']), detail: z.string().max(1000) });
const bringUpRequest = z.strictObject({ workspaceId: workspaceField, name, version: version.optional() });
const requested = z.strictObject({ workspaceId: workspaceIdSchema, id: z.string().max(100), name, version });
const finished = z.strictObject({ workspaceId: workspaceIdSchema, id: z.string().max(100), name, version, overall: z.enum(['up', 'failed']), steps: z.array(step).max(200) });
type Finished = z.infer<typeof finished>;

const healthStream = (p: { workspaceId: string; name: string; version: string }): string => `relic-health:${p.workspaceId}/${p.name}@${p.version}`;
const monumentStream = (workspaceId: string, name: string): string => `monument:${workspaceId}/${name}`;

function recordedHealth(r: Reader, p: { workspaceId: string; name: string; version: string }): string | undefined {
  const v = r.value('SELECT status FROM relic_health WHERE workspace_id = ? AND name = ? AND version = ?', [p.workspaceId, p.name, p.version]);
  return typeof v === 'string' ? v : undefined;
}

export interface BringUpRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly version: string;
  readonly device: string;
  readonly requestedAt: string;
  readonly finishedAt: string | null;
  readonly overall: 'running' | 'up' | 'failed';
  readonly steps: readonly BringUpStep[];
}

function bringUpRow(x: Record<string, unknown>): BringUpRecord {
  return {
    id: String(x['id']), workspaceId: String(x['workspace_id']), name: String(x['name']), version: String(x['version']), device: String(x['device']),
    requestedAt: String(x['requested_at']), finishedAt: x['finished_at'] === null ? null : String(x['finished_at']),
    overall: x['overall'] === null ? 'running' : String(x['overall']) as 'up' | 'failed', steps: JSON.parse(String(x['steps'] ?? '[]')) as BringUpStep[],
  };
}

export const relicCommands = defineCommands([
    {
      type: 'relic.health.record',
      internal: true,
      description: "The relic service's probe found a Relic's health different from the recorded one (the same status again appends nothing).",
      concurrent: 'Two devices probing the same Relic each record the changes they see; the later in merge order is the shown status.',
      schema: healthRecord,
      mutates: true,
      load: (r: Reader, p: HealthRecord) => recordedHealth(r, p),
      decide: (current: string | undefined, p: HealthRecord): Decision => (current === p.status
        ? { events: [], value: { changed: false } }
        : { events: [{ stream: healthStream(p), type: 'relic.health_changed', payload: p as unknown as Json }], value: { changed: true } }),
    },
    {
      type: 'monument.bring_up',
      description: 'Bring a Monument up: its components in startOrder, each after its conditions hold (installed; healthy: waits for the Relic within a bound). This device runs it and records the outcome.',
      concurrent: 'Each request is its own bring-up, run by the device that asked.',
      schema: bringUpRequest,
      mutates: true,
      needs: [manifestCode],
      load: (r: Reader, p: z.infer<typeof bringUpRequest>) => ({
        workspace: workspaceStatus(r, p.workspaceId),
        versions: readManifestRows(r, p.workspaceId, 'Monument').filter((m) => m.name === p.name).map((m) => m.version),
      }),
      decide: (st: { workspace: ReturnType<typeof workspaceStatus>; versions: string[] }, p: z.infer<typeof bringUpRequest>, ctx): Decision => {
        assertActiveWorkspace(st.workspace, p.workspaceId);
        const { compare } = manifestCode.get();
        const v = p.version ?? st.versions.reduce<string | undefined>((a, b) => (a === undefined || compare(b, a) > 0 ? b : a), undefined);
        if (v === undefined || !st.versions.includes(v)) throw new KernelError('not_found', `There is no Monument ${p.name}${p.version ? `@${p.version}` : ''} in this workspace's registry.`, { name: p.name });
        const id = ctx.newId();
        return { events: [{ stream: monumentStream(p.workspaceId, p.name), type: 'monument.bring_up_requested', payload: { workspaceId: p.workspaceId, id, name: p.name, version: v } }], value: { id, version: v } };
      },
    },
    {
      type: 'monument.bring_up.finish',
      internal: true,
      description: "The outcome of a Monument bring-up, each step's state, recorded once by the device that ran it.",
      concurrent: 'Only the requesting device runs and finishes a bring-up.',
      schema: finished,
      mutates: true,
      load: (r: Reader, p: Finished) => r.value('SELECT finished_at FROM monument_bring_ups WHERE id = ?', [p.id]),
      decide: (done: unknown, p: Finished): Decision => (typeof done === 'string'
        ? { events: [], value: { recorded: false } }
        : { events: [{ stream: monumentStream(p.workspaceId, p.name), type: 'monument.bring_up_finished', payload: p as unknown as Json }], value: { recorded: true } }),
    },
]);

export const relicEvents = [
    { type: 'relic.health_changed', version: 1, description: "A Relic's health as probed changed (healthy or unhealthy, with the problem in a sentence).", schema: healthRecord },
    { type: 'monument.bring_up_requested', version: 1, description: 'Someone asked to bring a Monument up.', schema: requested },
    { type: 'monument.bring_up_finished', version: 1, description: "A Monument bring-up ended: each component's step and the overall outcome.", schema: finished },
] as const;

export const relicProjection: Projection = {
    name: 'relics',
    version: 1,
    tables: ['relic_health', 'monument_bring_ups'],
    createSql: `CREATE TABLE relic_health (
      workspace_id TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, status TEXT NOT NULL,
      since TEXT NOT NULL, error TEXT, device TEXT NOT NULL, PRIMARY KEY (workspace_id, name, version)) STRICT;
    CREATE TABLE monument_bring_ups (
      id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL, version TEXT NOT NULL, device TEXT NOT NULL,
      requested_at TEXT NOT NULL, finished_at TEXT, overall TEXT, steps TEXT) STRICT;
    CREATE INDEX monument_bring_ups_by_name ON monument_bring_ups (workspace_id, name, requested_at);`,
    eventTypes: ['relic.health_changed', 'monument.bring_up_requested', 'monument.bring_up_finished'],
    apply(e, w) {
      if (e.type === 'relic.health_changed') {
        const p = e.payload as HealthRecord;
        w.run(`INSERT INTO relic_health (workspace_id, name, version, status, since, error, device) VALUES (?,?,?,?,?,?,?)
               ON CONFLICT (workspace_id, name, version) DO UPDATE SET status = excluded.status, since = excluded.since, error = excluded.error, device = excluded.device`,
        [p.workspaceId, p.name, p.version, p.status, p.checkedAt, p.error ?? null, e.device]);
      } else if (e.type === 'monument.bring_up_requested') {
        const p = e.payload as z.infer<typeof requested>;
        w.run('INSERT OR IGNORE INTO monument_bring_ups (id, workspace_id, name, version, device, requested_at) VALUES (?,?,?,?,?,?)', [p.id, p.workspaceId, p.name, p.version, e.device, e.at]);
      } else {
        const p = e.payload as Finished;
        w.run('UPDATE monument_bring_ups SET finished_at = ?, overall = ?, steps = ? WHERE id = ?', [e.at, p.overall, JSON.stringify(p.steps), p.id]);
      }
    },
};

export const relicQueries = defineQueries([
    {
      name: 'relic.health',
      description: "Every installed Relic of a workspace with its health: healthy, unhealthy or unknown (never probed), since when, the last problem in a sentence, and (live) when it was last probed and when next.",
      schema: z.strictObject({ workspaceId: workspaceField }),
      needs: [manifestCode],
      run: (r, p: { workspaceId: string }) => {
        const board = boardOf(r);
        return readManifestRows(r, p.workspaceId, 'Relic').map((m) => {
          const parsed = parseCachedManifest(m.source);
          const health = parsed.ok ? (parsed.manifest as RelicManifest).health : undefined;
          const row = r.get('SELECT status, since, error FROM relic_health WHERE workspace_id = ? AND name = ? AND version = ?', [p.workspaceId, m.name, m.version]);
          const live = board.relics.get(relicKey(p.workspaceId, m.name, m.version));
          return {
            name: m.name, version: m.version, url: health?.url ?? '', every: String(health?.every ?? ''),
            status: (row ? String(row['status']) : 'unknown') as 'healthy' | 'unhealthy' | 'unknown',
            since: row ? String(row['since']) : null,
            error: live?.last?.error ?? (row && row['error'] !== null ? String(row['error']) : null),
            lastChecked: live?.last?.checkedAt ?? null, nextCheck: live?.nextAt ?? null, ms: live?.last?.ms ?? null,
          };
        });
      },
    },
    {
      name: 'monument.bring_up.get',
      description: "A Monument's latest bring-up (or the one with this id): each step's state (live while it runs) and the overall outcome (running, up, failed); null when it was never brought up.",
      schema: z.strictObject({ workspaceId: workspaceField, name, id: z.string().max(100).optional() }),
      run: (r, p: { workspaceId: string; name: string; id?: string }) => {
        const x = p.id
          ? r.get('SELECT * FROM monument_bring_ups WHERE id = ? AND workspace_id = ?', [p.id, p.workspaceId])
          : r.get('SELECT * FROM monument_bring_ups WHERE workspace_id = ? AND name = ? ORDER BY requested_at DESC, rowid DESC LIMIT 1', [p.workspaceId, p.name]);
        if (!x) return null;
        const out = bringUpRow(x);
        const live = boardOf(r).bringUps.get(out.id);
        return { ...out, steps: out.overall === 'running' && live ? live : out.steps };
      },
    },
    {
      name: 'relic.watch_list',
      internal: true,
      description: "What the relic service watches: every installed Relic of every workspace (source and hash) and the unfinished bring-ups.",
      schema: z.strictObject({}),
      run: (r) => ({
        relics: r.all("SELECT workspace_id, name, version, hash, source FROM manifests WHERE kind = 'Relic' ORDER BY workspace_id, name, version")
          .map((x) => ({ workspaceId: String(x['workspace_id']), name: String(x['name']), version: String(x['version']), hash: String(x['hash']), source: String(x['source']) })),
        bringUps: r.all('SELECT * FROM monument_bring_ups WHERE finished_at IS NULL ORDER BY requested_at').map(bringUpRow),
      }),
    },
]);

/**
 * Queries of contracts: the list of a workspace, one contract with its recent firings, skipped
 * ranges and next instants, a cron preview for the form's live check, and the scheduler's internal
 * reads (what to schedule, buffered runs to release, duplicates to cancel).
 *
 * Invariants:
 * 1. "Next instants" are computed from `at` (epoch ms, default the host's clock), never stored.
 * 2. The scheduler's reads only name contracts of active workspaces (not archived, not an imported copy).
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import { scheduleCode } from '../../contracts/code.ts';
import type { CatchUp, Overlap } from '../../contracts/schedule.ts';
import { workspaceField, workspaceStatus } from '../workspaces/scope.ts';
import { contractId, contractStream, type SkipRange, type Trigger } from './schemas.ts';
import type { ContractRow } from './commands.ts';
import type { Json } from '../../kernel/errors.ts';

export interface ContractFiring {
  key: string; instant: number; source: 'cron' | 'event' | 'button'; eventId: string | null; sessionId: string | null;
  buffered: boolean; ended: boolean; device: string; at: string;
}
export interface ContractSummary {
  id: string; workspaceId: string; name: string; workflow: string; inputs: { [k: string]: Json }; trigger: Trigger;
  overlap: Overlap; catchUp: CatchUp; enabled: boolean; homeDevice: string; considered: number; createdAt: string; updatedAt: string;
  running: number; buffered: number; lastFiring: ContractFiring | null; lastSkip: (SkipRange & { at: string }) | null;
  /** Cron: the next scheduled instants after `at` (epoch ms). */
  next: number[];
}
export interface ContractDetail extends ContractSummary {
  firings: (ContractFiring & { status: string | null })[];
  skipped: (SkipRange & { at: string })[];
  duplicates: { sessionId: string; key: string; device: string; ended: boolean; at: string }[];
}

const at = z.number().int().nonnegative().optional();

function firing(x: Record<string, unknown>): ContractFiring {
  return {
    key: String(x['key']), instant: Number(x['instant']), source: x['source'] as ContractFiring['source'], eventId: (x['event_id'] as string | null) ?? null,
    sessionId: (x['session_id'] as string | null) ?? null, buffered: Number(x['buffered']) === 1, ended: Number(x['ended']) === 1, device: String(x['device']), at: String(x['at']),
  };
}

function skip(x: Record<string, unknown>): SkipRange & { at: string } {
  return {
    reason: x['reason'] as SkipRange['reason'], count: x['count'] === null ? null : Number(x['count']), first: Number(x['first']), last: Number(x['last']),
    ...(x['message'] ? { message: String(x['message']) } : {}), at: String(x['at']),
  };
}

/** The next `n` scheduled instants after `from` (cron contracts; none for the others). */
function nextInstants(trigger: Trigger, from: number, n: number): number[] {
  if (trigger.kind !== 'cron') return [];
  const t = { cron: trigger.cron, ...(trigger.timezone !== undefined ? { timezone: trigger.timezone } : {}) };
  const s = scheduleCode.get();
  if (!s.checkTrigger(t).ok) return [];
  return s.instantsBetween(t, from, Number.MAX_SAFE_INTEGER, n).instants;
}

function summary(r: Reader, c: ContractRow & { created_at: string; updated_at: string }, now: number): ContractSummary {
  const trigger = JSON.parse(c.trigger_spec) as Trigger;
  const counts = r.get(`SELECT COALESCE(SUM(session_id IS NOT NULL AND ended = 0), 0) AS running, COALESCE(SUM(buffered = 1 AND session_id IS NULL), 0) AS buffered
                        FROM contract_firings WHERE contract_id = ?`, [c.id]);
  const last = r.get('SELECT * FROM contract_firings WHERE contract_id = ? ORDER BY instant DESC, key DESC LIMIT 1', [c.id]);
  const lastSkip = r.get('SELECT * FROM contract_skips WHERE contract_id = ? ORDER BY last DESC, event_id DESC LIMIT 1', [c.id]);
  return {
    id: c.id, workspaceId: c.workspace_id, name: c.name, workflow: c.workflow, inputs: JSON.parse(c.inputs) as { [k: string]: Json }, trigger,
    overlap: c.overlap, catchUp: JSON.parse(c.catch_up) as CatchUp, enabled: Number(c.enabled) === 1, homeDevice: c.home_device,
    considered: Number(c.considered), createdAt: c.created_at, updatedAt: c.updated_at,
    running: Number(counts?.['running'] ?? 0), buffered: Number(counts?.['buffered'] ?? 0),
    lastFiring: last ? firing(last) : null, lastSkip: lastSkip ? skip(lastSkip) : null,
    next: nextInstants(trigger, now, 5),
  };
}

type Row = ContractRow & { created_at: string; updated_at: string };

export const queries = defineQueries([
  {
    name: 'contract.list',
    description: "A workspace's contracts with their trigger, policies, running count, last firing and skip, and (cron) the next 5 instants after `at`.",
    schema: z.strictObject({ workspaceId: workspaceField, at }),
    needs: [scheduleCode],
    run: (r, p: { workspaceId: string; at?: number }): ContractSummary[] =>
      (r.all('SELECT * FROM contracts WHERE workspace_id = ? ORDER BY name, id', [p.workspaceId]) as unknown as Row[]).map((c) => summary(r, c, p.at ?? Date.now())),
  },
  {
    name: 'contract.get',
    description: 'One contract with its recent firings (and the status of the sessions they started), skipped ranges, duplicates merged from other devices, and (cron) its next 5 instants; null when there is none.',
    schema: z.strictObject({ id: contractId, at, limit: z.number().int().min(1).max(500).default(20) }),
    needs: [scheduleCode],
    run: (r, p: { id: string; at?: number; limit: number }, ctx): ContractDetail | null => {
      const c = r.get('SELECT * FROM contracts WHERE id = ?', [p.id]) as Row | undefined;
      if (!c) return null;
      const firings = r.all('SELECT * FROM contract_firings WHERE contract_id = ? ORDER BY instant DESC, key DESC LIMIT ?', [p.id, p.limit]).map((x) => {
        const f = firing(x);
        const outcome = f.sessionId ? ctx.query('session.outcome', { sessionId: f.sessionId }) as { status: string } | null : null;
        return { ...f, status: outcome?.status ?? null };
      });
      return {
        ...summary(r, c, p.at ?? Date.now()), firings,
        skipped: r.all('SELECT * FROM contract_skips WHERE contract_id = ? ORDER BY first DESC, event_id DESC, idx DESC LIMIT ?', [p.id, p.limit]).map(skip),
        duplicates: r.all('SELECT * FROM contract_duplicates WHERE contract_id = ? ORDER BY at DESC LIMIT ?', [p.id, p.limit]).map((x) => ({
          sessionId: String(x['session_id']), key: String(x['key']), device: String(x['device']), ended: Number(x['ended']) === 1, at: String(x['at']),
        })),
      };
    },
  },
  {
    name: 'contract.preview',
    description: 'Check a cron expression and time zone as contract.set would: ok and the next `count` instants after `at`, or the sentence saying what is wrong.',
    schema: z.strictObject({ cron: z.string().max(200), timezone: z.string().max(100).optional(), at, count: z.number().int().min(1).max(20).default(5) }),
    needs: [scheduleCode],
    run: (_r, p: { cron: string; timezone?: string; at?: number; count: number }): { ok: true; next: number[] } | { ok: false; message: string } => {
      const t = { cron: p.cron, ...(p.timezone ? { timezone: p.timezone } : {}) };
      const check = scheduleCode.get().checkTrigger(t);
      if (!check.ok) return check;
      return { ok: true, next: scheduleCode.get().instantsBetween(t, p.at ?? Date.now(), Number.MAX_SAFE_INTEGER, p.count).instants };
    },
  },
  {
    name: 'contract.schedule',
    description: 'The enabled contracts of active workspaces, as the scheduler reads them (with the seq of their last set or enable, where an event trigger starts looking).',
    schema: z.strictObject({}),
    internal: true,
    run: (r): { id: string; workspaceId: string; trigger: Trigger; catchUp: CatchUp; homeDevice: string; considered: number; fromSeq: number }[] =>
      (r.all('SELECT * FROM contracts WHERE enabled = 1 ORDER BY id') as unknown as Row[]).filter((c) => workspaceStatus(r, c.workspace_id) === 'active').map((c) => ({
        id: c.id, workspaceId: c.workspace_id, trigger: JSON.parse(c.trigger_spec) as Trigger, catchUp: JSON.parse(c.catch_up) as CatchUp, homeDevice: c.home_device, considered: Number(c.considered),
        fromSeq: Number(r.value("SELECT MAX(seq) FROM events WHERE stream = ? AND type IN ('contract.set', 'contract.enabled')", [contractStream(c.id)]) ?? 0),
      })),
  },
  {
    name: 'contract.pending',
    description: "What the scheduler of this device owes: buffered firings whose contract runs nothing now, and duplicate runs (another device fired the same key first) still running.",
    schema: z.strictObject({ devices: z.array(z.string()).max(100) }),
    internal: true,
    run: (r, p: { devices: string[] }): { release: { id: string; key: string }[]; duplicates: { sessionId: string; key: string; winner: string | null }[] } => {
      const marks = p.devices.map(() => '?').join(',') || "''";
      return {
        release: r.all(`SELECT f.contract_id AS id, f.key FROM contract_firings f WHERE f.buffered = 1 AND f.session_id IS NULL AND f.device IN (${marks})
                          AND NOT EXISTS (SELECT 1 FROM contract_firings g WHERE g.contract_id = f.contract_id AND g.session_id IS NOT NULL AND g.ended = 0)`, p.devices)
          .map((x) => ({ id: String(x['id']), key: String(x['key']) })),
        duplicates: r.all(`SELECT d.session_id, d.key, f.session_id AS winner FROM contract_duplicates d LEFT JOIN contract_firings f ON f.key = d.key
                             WHERE d.ended = 0 AND d.device IN (${marks})`, p.devices)
          .map((x) => ({ sessionId: String(x['session_id']), key: String(x['key']), winner: (x['winner'] as string | null) ?? null })),
      };
    },
  },
]);

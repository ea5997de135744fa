/**
 * What waits for a person, and sessions by their readable names: the inbox (approvals pending,
 * failed sessions) and `session.names` for links between sessions, the intent bar and Forest.
 *
 * Invariants:
 * 1. Read from this slice's own tables only (`sessions`, `session_steps`, `session_numbers`).
 * 2. Whether a failed session was "looked at" is not the kernel's: the UI keeps that per device
 *    (src/lib/workflows/inbox.svelte.ts); the inbox answers every recent failure.
 */
import { z } from 'zod';
import { defineQueries } from '../../kernel/module.ts';
import { workspaceField } from '../workspaces/scope.ts';
import { sessionName } from './numbers.ts';

const NUMBER = '(SELECT number FROM session_numbers n WHERE n.session_id = s.id)';

export interface SessionNameRow {
  readonly id: string;
  readonly workflow: string;
  readonly number: number | null;
  /** "deploy #12". */
  readonly name: string;
}

export interface InboxApproval {
  readonly sessionId: string;
  readonly name: string;
  readonly workflow: string;
  readonly step: string;
  readonly prompt: string;
  readonly approvers: readonly string[];
  /** When the step started waiting (ISO). */
  readonly since: string;
  readonly paused: boolean;
}

export interface InboxFailure {
  readonly sessionId: string;
  readonly name: string;
  readonly workflow: string;
  readonly failedStep: string | null;
  /** The error's type (`auth`, `timeout`, `gate_failed`, …) and message, as recorded. */
  readonly errorType: string;
  readonly message: string;
  readonly endedAt: string;
}

export interface InboxAnswer {
  readonly approvals: readonly InboxApproval[];
  readonly failed: readonly InboxFailure[];
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const inboxQueries = defineQueries([
  {
    name: 'session.names',
    description: 'Readable names of sessions by id ("deploy #12": workflow name and run number); unknown ids are left out.',
    schema: z.strictObject({ ids: z.array(z.string().min(1).max(200)).max(500) }),
    run: (r, p: { ids: string[] }): SessionNameRow[] => {
      if (p.ids.length === 0) return [];
      return r.all(`SELECT s.id, s.workflow_name, ${NUMBER} AS number FROM sessions s WHERE s.id IN (${p.ids.map(() => '?').join(',')})`, p.ids).map((x) => {
        const number = num(x['number']);
        return { id: String(x['id']), workflow: String(x['workflow_name']), number, name: sessionName(String(x['workflow_name']), number) };
      });
    },
  },
  {
    name: 'session.inbox',
    description: "What waits for a person in a workspace: approvals pending in running or paused sessions (oldest first) and the most recently failed sessions (newest first, at most `failedLimit`, default 50). A read-only imported copy's runs wait for nobody here: they are left out.",
    schema: z.strictObject({ workspaceId: workspaceField, failedLimit: z.number().int().min(0).max(500).optional() }),
    run: (r, p: { workspaceId: string; failedLimit?: number }): InboxAnswer => {
      const approvals = r.all(`SELECT s.id, s.workflow_name, s.status, ${NUMBER} AS number, t.key, t.approval, t.started_at
          FROM session_steps t JOIN sessions s ON s.id = t.session_id
          WHERE s.workspace_id = ? AND s.status IN ('running', 'paused') AND t.status = 'waiting' AND t.approval IS NOT NULL AND s.owner_device NOT LIKE 'imported:%'
            AND json_extract(t.approval, '$.decided') IS NULL
          ORDER BY t.started_at, s.id, t.key`, [p.workspaceId]).map((x): InboxApproval => {
        const a = JSON.parse(String(x['approval'])) as { prompt?: string; approvers?: string[] };
        return {
          sessionId: String(x['id']), name: sessionName(String(x['workflow_name']), num(x['number'])), workflow: String(x['workflow_name']),
          step: String(x['key']), prompt: a.prompt ?? '', approvers: a.approvers ?? [], since: String(x['started_at'] ?? ''), paused: x['status'] === 'paused',
        };
      });
      const failed = r.all(`SELECT s.id, s.workflow_name, ${NUMBER} AS number, s.failed_step, s.error, s.ended_at FROM sessions s
          WHERE s.workspace_id = ? AND s.status = 'failed' AND s.owner_device NOT LIKE 'imported:%' ORDER BY s.ended_at DESC, s.id DESC LIMIT ?`, [p.workspaceId, p.failedLimit ?? 50]).map((x): InboxFailure => {
        const error = typeof x['error'] === 'string' ? (JSON.parse(x['error']) as { type?: string; message?: string } | null) : null;
        return {
          sessionId: String(x['id']), name: sessionName(String(x['workflow_name']), num(x['number'])), workflow: String(x['workflow_name']),
          failedStep: (x['failed_step'] as string | null) ?? null, errorType: error?.type ?? '', message: error?.message ?? '', endedAt: String(x['ended_at'] ?? ''),
        };
      });
      return { approvals, failed };
    },
  },
]);

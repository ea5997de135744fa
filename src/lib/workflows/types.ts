/**
 * The shapes the workflow and session queries answer with (see worker/domains/sessions/queries.ts
 * and fold.ts), as the UI reads them. Plain JSON: times in the folded state are epoch ms.
 */
import type { Json, QueryResult } from '../../../worker/api.ts';

export interface WorkflowRevision {
  readonly name: string;
  readonly version: string;
  readonly revision: number;
  readonly hash: string;
  readonly description: string;
  readonly savedAt: string;
  readonly source?: string;
}

export interface WorkflowSummary extends WorkflowRevision {
  readonly archived: boolean;
  readonly sessions: number;
}

export interface WorkflowIssue {
  readonly path: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly code: string;
}

export type InputType = 'string' | 'number' | 'boolean' | 'object' | 'array';

export interface InputSpec {
  readonly type: InputType;
  readonly required?: boolean;
  readonly default?: Json;
  readonly enum?: readonly Json[];
  readonly description?: string;
}

/** The normalised workflow (only what the UI reads). */
export interface WorkflowDef {
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  readonly inputs: { readonly [name: string]: InputSpec };
  readonly steps: readonly { readonly id: string; readonly type: string }[];
}

export type ValidateResult = { ok: true; workflow: WorkflowDef; hash: string } | { ok: false; errors: WorkflowIssue[] };

export interface StepError {
  readonly type: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly details: { readonly [k: string]: Json };
}

export type SessionStatus = 'running' | 'paused' | 'succeeded' | 'failed' | 'cancelled';

export interface SessionSummary {
  readonly id: string;
  readonly workflow: { readonly name: string; readonly version: string; readonly hash: string };
  readonly status: SessionStatus;
  readonly inputs: Json;
  readonly output: Json;
  readonly error: StepError | null;
  readonly failedStep: string | null;
  readonly parentId: string | null;
  readonly parentStep: string | null;
  readonly forkOf: string | null;
  readonly forkStep: string | null;
  readonly startedAt: string;
  readonly endedAt: string | null;
  readonly updatedAt: string;
  readonly stepsDone: number;
  readonly waiting: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
}

export interface StepState {
  readonly key: string;
  readonly status: string;
  readonly attempt: number;
  readonly attempts: number;
  readonly scheduledAt?: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly dueAt?: number;
  readonly deadline?: number;
  readonly runner?: string;
  readonly input?: Json;
  readonly output?: Json;
  readonly artifact?: { readonly hash: string; readonly size: number };
  readonly error?: StepError;
  readonly branch?: 'then' | 'else';
  readonly child?: { readonly sessionId: string; readonly workflow: string };
  readonly approval?: {
    readonly prompt: string;
    readonly approvers: readonly string[];
    readonly deadline?: number;
    readonly decided?: { readonly approved: boolean; readonly comment: string; readonly by: string; readonly at: number };
  };
  readonly reason?: string;
  /** Agent steps: the turns and tool results of the current attempt (`agent.turn` / `agent.observation`). */
  readonly journal?: readonly { readonly type: string; readonly payload: { readonly [k: string]: Json }; readonly at: number }[];
  readonly history: readonly { readonly attempt: number; readonly startedAt: number; readonly endedAt: number; readonly outcome: string }[];
}

export interface SessionState {
  readonly id: string;
  readonly workflow: { readonly name: string; readonly version: string; readonly hash: string };
  readonly source: string;
  readonly inputs: { readonly [k: string]: Json };
  readonly env: { readonly [k: string]: Json };
  readonly status: SessionStatus;
  readonly paused: boolean;
  readonly startedAt: number;
  readonly endedAt?: number;
  readonly output?: Json;
  readonly error?: StepError;
  readonly failedStep?: string;
  readonly parent?: { readonly sessionId: string; readonly step: string; readonly attempt: number };
  readonly forkOf?: { readonly sessionId: string; readonly fromStep: string; readonly atSeq: number };
  readonly lastSeq: number;
  readonly steps: { readonly [key: string]: StepState };
}

export interface SessionEventRow {
  readonly seq: number;
  readonly streamSeq: number;
  readonly type: string;
  readonly at: string;
  readonly step: string | null;
}

export interface SessionStateAnswer {
  readonly state: SessionState;
  readonly events: readonly SessionEventRow[];
}

export type SecretName = QueryResult<'secret.list'>[number];

export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

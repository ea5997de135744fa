/**
 * The shapes the workflow and session queries answer with (types only): the queries declare them
 * as their results, so the API's QueryMap (and through it the UI) infers them instead of
 * re-declaring them. Plain JSON: times in the folded state (`SessionStateJson`) are epoch ms.
 */
import type { Json } from '../../kernel/errors.ts';

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
  /** The run number among its workflow's sessions in the workspace, in merge order (same on every device). */
  readonly number: number | null;
  /** Its readable name: "deploy #12". */
  readonly name: string;
}

/** A step row of `session.get`. */
export interface SessionStepRow {
  readonly key: string;
  readonly status: string;
  readonly attempt: number;
  readonly attempts: number;
  readonly runner: string | null;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly dueAt: string | null;
  readonly output: Json;
  readonly artifact: Json;
  readonly branch: string | null;
  readonly error: StepError | null;
  readonly childId: string | null;
  readonly approval: Json;
  readonly reason: string | null;
}

/** `session.get`: the summary, the pinned source and every step row. */
export interface SessionDetail extends SessionSummary {
  readonly source: string;
  readonly steps: readonly SessionStepRow[];
}

/** A step of the folded state (`session.state`). */
export interface StepStateJson {
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

/** The folded state of a session as JSON (`session.state`). */
export interface SessionStateJson {
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
  readonly steps: { readonly [key: string]: StepStateJson };
}

export interface SessionEventRow {
  readonly seq: number;
  readonly streamSeq: number;
  readonly type: string;
  readonly at: string;
  readonly step: string | null;
}

/** `session.state`: the state at a seq, and the session's events. */
export interface SessionStateAnswer {
  readonly state: SessionStateJson;
  readonly events: readonly SessionEventRow[];
  /** The device that started the session and runs it (requests from others go to it). */
  readonly owner: string | null;
}

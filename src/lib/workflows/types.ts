/**
 * The shapes the workflow and session queries answer with are the sessions slice's own
 * (worker/domains/sessions/answers.ts, the results its queries declare; type-only re-exports), plus
 * what only the UI reads of a validated workflow.
 */
import type { Json, QueryResult } from '../../../worker/api.ts';
export type {
  WorkflowRevision, WorkflowSummary, StepError, SessionStatus, SessionSummary, SessionDetail, SessionStepRow,
  SessionEventRow, SessionStateAnswer, StepStateJson as StepState, SessionStateJson as SessionState,
} from '../../../worker/domains/sessions/answers.ts';

export type { WorkflowIssue } from '../../../worker/workflow/issues.ts';

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


/** What `workflow.validate` answers: the worker's parse result. */
export type ValidateResult = QueryResult<'workflow.validate'>;

export type SecretName = QueryResult<'secret.list'>[number];

export const TERMINAL: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled']);

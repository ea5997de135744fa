/**
 * The runner interface: everything that does the work of a step (an HTTP call, data shaping, later
 * an LLM call) implements `Runner`. The engine owns durability; a runner only executes one attempt.
 *
 * Invariants:
 * 1. `execute` receives the step's input with every template already rendered (secrets included),
 *    an AbortSignal (cancel, timeout, pause-with-abort) and an idempotency key that is the same for
 *    every execution of the same attempt (`<session>/<step>/<attempt>`): a runner that reaches a
 *    remote system passes it on (the http runner sends `Idempotency-Key`), so re-running an
 *    in-flight attempt after a crash is safe where the remote honours it.
 * 2. A runner resolves with JSON-compatible data or rejects with a `RunnerError` (any other throw
 *    is wrapped as `runner_error`, not retryable). It never writes to the kernel itself — with one
 *    deliberate exception: `forest.write` (worker/engine/forest-runners.ts) writes Forest nodes and
 *    links through ordinary kernel commands whose idempotency keys derive from this request's key
 *    (`<key>/node`, `<key>/link/<i>`), so a crash re-run of the same attempt replays, never writes twice.
 * 3. When the signal aborts, `execute` settles promptly (rejecting with type `aborted`).
 */
import type { Json } from '../../kernel/errors.ts';

export interface RunnerCapabilities {
  /** No side effects and deterministic: the engine may run it again freely (transform). */
  readonly pure: boolean;
  /** Reaches the network (http, llm). */
  readonly network: boolean;
  /** Step types this runner serves: 'task' for `runner: <name>`, 'llm' for the llm slot. */
  readonly stepTypes: readonly ('task' | 'llm' | 'hook')[];
  /** Human description for the UI. */
  readonly description: string;
}

export interface RunnerHealth {
  readonly ok: boolean;
  readonly detail: string;
}

export interface RunRequest {
  /** The rendered `with` of a task step (or an llm step's rendered fields). */
  readonly input: { readonly [key: string]: Json };
  readonly signal: AbortSignal;
  /** `<sessionId>/<stepKey>/<attempt>`: identical across re-executions of one attempt. */
  readonly idempotencyKey: string;
  readonly sessionId: string;
  /**
   * The session's workspace: runners that read or write kernel data (Forest, providers, workflow
   * tools) stay inside it. Absent only outside the engine (tests calling a runner directly).
   */
  readonly workspaceId?: string;
  /** The project the session is filed under, if any (forest.write files its nodes there too). */
  readonly projectId?: string;
  readonly stepKey: string;
  /** 1-based attempt number of this step (continues across onFailure loops and session retries). */
  readonly attempt: number;
  /** Attempt number within the current run of the retry policy (1 = first try). */
  readonly tryNumber: number;
  /** Epoch-ms clock of the engine (tests inject a manual one). */
  readonly now: () => number;
  /** Durable notes of this attempt (agent turns); given to runners whose step type keeps them. */
  readonly journal?: RunJournal;
  /** The Tools the session pinned, by name (an agent's `{ kind: 'tool' }` tools run on them). */
  readonly tools?: (name: string) => ToolByName | undefined;
}

/** A pinned Tool as a runner, with what an agent tells the model about it (worker/engine/named.ts). */
export interface ToolByName extends Runner {
  readonly tool: {
    readonly name: string;
    readonly version: string;
    readonly description: string;
    readonly parameters: { readonly [name: string]: { readonly type: string; readonly required: boolean; readonly description?: string | undefined; readonly enum?: readonly unknown[] | undefined } };
  };
}

/** One durable note of a running attempt: an event of the session stream (step and attempt are added by the engine). */
export interface JournalEntry {
  readonly type: 'agent.turn' | 'agent.observation';
  readonly payload: { readonly [key: string]: Json };
}

/**
 * The journal of a running attempt. `entries` are the notes recorded by earlier executions of the
 * same attempt (after a crash or restart), in order; `append` resolves with the note as recorded
 * (secret values redacted: what a runner passes on, e.g. to a model, should be that) once it is committed to
 * the log, and rejects (`aborted`) when the attempt no longer runs. A runner that resumes from
 * `entries` must not repeat the work they record.
 */
export interface RunJournal {
  readonly entries: readonly JournalEntry[];
  append(entry: JournalEntry): Promise<JournalEntry>;
}

export interface Runner {
  readonly name: string;
  readonly capabilities: RunnerCapabilities;
  health(): Promise<RunnerHealth>;
  execute(request: RunRequest): Promise<Json>;
}

/** Error types with a fixed meaning across runners (a runner may add its own). */
export const RUNNER_ERROR_TYPES = [
  'invalid_input', // the step's input is not what the runner accepts (not retryable)
  'network', // DNS, connection refused/reset, CORS, offline (retryable)
  'timeout', // the attempt ran past its deadline (retryable)
  'aborted', // cancelled through the signal (not retryable)
  'http_4xx', // a 4xx response other than 408/429 (not retryable)
  'http_429', // rate limited (retryable; details.retryAfterMs when the server said)
  'http_5xx', // a 5xx or 408 response (retryable)
  'runner_unavailable', // no such runner, or it is not configured (not retryable)
  'runner_error', // the runner failed unexpectedly (not retryable)
  'flaky', // demo runner: an injected failure (retryable)
  'policy_denied', // the workspace policy refuses this runner or host; nothing was called (not retryable)
] as const;

export class RunnerError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly retryable: boolean,
    readonly details: { readonly [key: string]: Json } = {},
  ) {
    super(message);
    this.name = 'RunnerError';
  }
}

export interface StepError {
  readonly type: string;
  readonly message: string;
  readonly retryable: boolean;
  readonly details: { readonly [key: string]: Json };
}

/** Normalise anything a runner threw into a StepError. */
export function toStepError(err: unknown): StepError {
  if (err instanceof RunnerError) return { type: err.type, message: err.message, retryable: err.retryable, details: err.details };
  const message = err instanceof Error ? err.message : String(err);
  return { type: 'runner_error', message, retryable: false, details: {} };
}

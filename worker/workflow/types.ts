/**
 * The normalised workflow: what `parseWorkflow` returns once a YAML file passed every check.
 *
 * Invariants:
 * 1. Plain JSON data only (no undefined values, no prototypes), so `canonicalJson` hashes it.
 * 2. Defaults are filled in and short forms expanded: durations are milliseconds, `dependsOn`,
 *    `then`, `else` and `gate` are arrays, `retry` has every field, `wait.until` literals are UTC.
 * 3. Step ids are unique across the whole workflow, nested steps included.
 */
import type { Json } from '../kernel/errors.ts';

export const STEP_TYPES = ['task', 'llm', 'agent', 'forest', 'decision', 'parallel', 'loop', 'wait', 'approval', 'workflow', 'race'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export const INPUT_TYPES = ['string', 'number', 'boolean', 'object', 'array'] as const;
export type InputType = (typeof INPUT_TYPES)[number];

export const BACKOFFS = ['exponential', 'linear', 'fixed'] as const;
export type Backoff = (typeof BACKOFFS)[number];

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface Workflow {
  /** The manifest header (docs/manifests.md): present when the file says `kind: Workflow`. */
  kind?: 'Workflow';
  /** What the workflow depends on besides the Tools its steps name (manifest imports). */
  imports?: { kind: 'Workflow' | 'Kata' | 'Agent' | 'Tool' | 'Relic' | 'Monument'; name: string; version: string }[];
  name: string;
  version: string;
  description?: string;
  /** Who wrote it (free text; shown, never interpreted). */
  author?: string;
  inputs: { [name: string]: InputSpec };
  /** The session's output: templates over inputs and top-level steps. Absent: the output is null. */
  outputs?: { [name: string]: Json };
  /** Deadline for the whole session, in ms. */
  timeout?: number;
  hooks?: Hooks;
  steps: Step[];
}

export interface InputSpec {
  type: InputType;
  required: boolean;
  default?: Json;
  enum?: Json[];
  description?: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoff: Backoff;
  /** ms before the second attempt. */
  initialDelay: number;
  /** Upper bound of any delay, ms. */
  maxDelay: number;
  /** Error types that are retried; absent: every retryable error. */
  retryOn?: string[];
}

export interface GateCheck {
  /** Expression that must be truthy after the step ran. */
  check: string;
  /** Template explaining a failure; absent: the check's text. */
  reason?: string;
}

export interface OnFailure {
  /** This step or one of its upstream steps: re-run from there. */
  goto: string;
  maxLoops: number;
}

export type Hook =
  | { type: 'webhook'; config: { url: string; method: HttpMethod; headers?: { [name: string]: string }; body?: Json } }
  | { type: 'task'; config: { runner: string; with: { [key: string]: Json } } }
  | { type: 'llm'; config: LlmFields };

export interface Hooks {
  onStart?: Hook;
  onComplete?: Hook;
  onError?: Hook;
}

export interface LlmFields {
  model: string;
  prompt: string;
  system?: string;
  outputSchema?: { [key: string]: Json };
  temperature?: number;
  maxTokens?: number;
}

interface StepBase {
  id: string;
  name?: string;
  dependsOn: string[];
  /** all: every dependency succeeded (a skipped one skips this step); any: at least one did, none failed. */
  join: 'all' | 'any';
  retry?: RetryPolicy;
  timeout?: number;
  hooks?: Hooks;
  gate?: GateCheck[];
  onFailure?: OnFailure;
  outputs?: { [name: string]: Json };
}

/** `if` on a non-decision step: run it only when the expression is truthy (else it is skipped). */
interface Guarded {
  if?: string;
}

export interface TaskStep extends StepBase, Guarded {
  type: 'task';
  runner: string;
  with: { [key: string]: Json };
}

/** Text retrieved from the Forest when an llm or agent step starts ({{ context.<name> }} in its prompt). */
export type Retrieval =
  | { forest: { query: string; tags?: string[]; topK: number; budget: number } }
  /** Summary nodes of earlier sessions of this workflow, newest first (or best first with a query). */
  | { history: { query?: string; outcome: 'any' | 'succeeded' | 'failed'; topK: number; budget: number } };

export interface LlmStep extends StepBase, Guarded, LlmFields {
  type: 'llm';
  context?: { [name: string]: Retrieval };
}

/** A tool an agent step may call (normalised: string short forms become objects). */
export type AgentTool =
  | { kind: 'forest.search' }
  | { kind: 'forest.write' }
  /** `allow`: URL prefixes the model may call (absent: any URL the app's CSP allows); `headers` are added to every call. */
  | { kind: 'http'; allow?: string[]; methods: HttpMethod[]; headers?: { [name: string]: string } }
  /** Runs another saved workflow as a child session and returns its outcome. */
  | { kind: 'workflow'; workflow: string; description?: string }
  /** An installed Tool by name (an Agent manifest's `tools`; never written in a workflow file). */
  | { kind: 'tool'; name: string };

export interface AgentStep extends StepBase, Guarded, Omit<LlmFields, 'model'> {
  type: 'agent';
  /** An Agent manifest by name: model, system (its persona), tools, outputSchema and maxTurns come from it. */
  agent?: string;
  /** Required unless `agent` names a manifest. */
  model?: string;
  context?: { [name: string]: Retrieval };
  /** Required (1–32) unless `agent` names a manifest. */
  tools?: AgentTool[];
  /** Model turns at most (the last one must answer). */
  maxTurns: number;
}

/** Forest retrieval as a step (the forest.search runner): output `{ hits, total, text, read }`. */
export interface ForestStep extends StepBase, Guarded {
  type: 'forest';
  query: string;
  tags?: string[];
  topK: number;
  /** Characters of `output.text` at most. */
  budget: number;
}

export interface DecisionStep extends StepBase {
  type: 'decision';
  /** The condition: truthy runs `then`, falsy runs `else`. */
  if: string;
  then: string[];
  else: string[];
}

export interface ParallelStep extends StepBase, Guarded {
  type: 'parallel';
  /** Each branch is an inline step list (a DAG of its own); all branches run at once. */
  branches: Step[][];
}

export interface RaceStep extends StepBase, Guarded {
  type: 'race';
  /** The first branch to succeed wins; the others are cancelled. */
  branches: Step[][];
}

export interface LoopStep extends StepBase, Guarded {
  type: 'loop';
  over: string;
  as: string;
  concurrency: number;
  steps: Step[];
}

export type WaitStep = StepBase & Guarded & { type: 'wait' } & ({ duration: number } | { until: string });

export interface ApprovalStep extends StepBase, Guarded {
  type: 'approval';
  prompt: string;
  approvers?: string[];
  onTimeout: 'reject' | 'approve';
}

export interface WorkflowStep extends StepBase, Guarded {
  type: 'workflow';
  /** `name` (latest version) or `name@1.2.3`. */
  workflow: string;
  inputs: { [name: string]: Json };
}

export type Step = TaskStep | LlmStep | AgentStep | ForestStep | DecisionStep | ParallelStep | RaceStep | LoopStep | WaitStep | ApprovalStep | WorkflowStep;

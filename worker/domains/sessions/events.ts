/**
 * Events of the workflow library (`workflow:<name>` streams) and of sessions (`session:<id>`).
 *
 * A session's stream is its whole durable state: `fold.ts` rebuilds it from these events alone,
 * without the definition (resets name the step keys they reset), so time travel and the UI never
 * re-interpret a definition.
 *
 * Step keys: a top-level step's key is its id; inside loop iteration i of loop step L it is
 * `L[i].<id>` (nested loops chain). Hooks run as pseudo-steps keyed `<key>@onStart` etc., and the
 * session's own hooks as `@onStart`, `@onComplete`, `@onError`.
 */
import { z } from 'zod';
import type { EventDefinition } from '../../kernel/module.ts';
import type { Json } from '../../kernel/errors.ts';
import { toDefaultWorkspace, workspaceIdSchema } from '../workspaces/scope.ts';

const json = z.json();
const key = z.string().min(1).max(2_000);
const ms = z.number().int().nonnegative();

export const stepErrorSchema = z.strictObject({
  type: z.string().min(1).max(200),
  message: z.string().max(20_000),
  retryable: z.boolean(),
  details: z.record(z.string(), json),
});

const workflowRef = z.strictObject({ name: z.string(), version: z.string(), hash: z.string().regex(/^[0-9a-f]{64}$/) });
const artifactRef = z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative() });

/**
 * A Tool or Agent the session calls by name, pinned when it started (docs/manifests.md, "Execution
 * by name"): the version that was installed, its source's hash and the source itself, so an
 * upgrade or removal while the session runs changes nothing for it.
 */
export const pinnedManifest = z.strictObject({
  kind: z.enum(['Tool', 'Agent']),
  name: z.string().min(1).max(300),
  version: z.string().min(1).max(100),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string().max(256 * 1024),
});

/** A finished step carried into a forked session (rerun from a step). */
export const carriedStep = z.strictObject({
  step: key,
  status: z.enum(['succeeded', 'skipped']),
  attempt: z.number().int().nonnegative(),
  output: json.optional(),
  artifact: artifactRef.optional(),
  branch: z.enum(['then', 'else']).optional(),
});

const payloads = {
  'workflow.saved': z.strictObject({
    workspaceId: workspaceIdSchema,
    name: z.string(),
    version: z.string(),
    revision: z.number().int().positive(),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    source: z.string(),
    description: z.string(),
  }),
  'workflow.archived': z.strictObject({ workspaceId: workspaceIdSchema, name: z.string() }),
  'session.started': z.strictObject({
    sessionId: z.string(),
    /** The workspace the session runs in: its secrets, providers, workflows and Forest. */
    workspaceId: workspaceIdSchema,
    /** The project of that workspace the session is filed under, if any. */
    projectId: z.string().optional(),
    workflow: workflowRef,
    /** The pinned definition: the exact YAML text whose canonical form hashes to workflow.hash. */
    source: z.string(),
    inputs: z.record(z.string(), json),
    /** Runtime environment pinned at start (e.g. origin), read as `env.<name>`. */
    env: z.record(z.string(), json),
    parent: z.strictObject({ sessionId: z.string(), step: key, attempt: z.number().int().positive() }).optional(),
    forkOf: z.strictObject({ sessionId: z.string(), fromStep: z.string(), atSeq: z.number().int().nonnegative() }).optional(),
    carried: z.array(carriedStep).optional(),
    /** The Tools and Agents it calls by name (absent: none; older events never have it). */
    pinned: z.array(pinnedManifest).max(200).optional(),
  }),
  'step.scheduled': z.strictObject({ step: key }),
  'step.started': z.strictObject({
    step: key,
    attempt: z.number().int().positive(),
    /** `<session>/<step>/<attempt>`, handed to the runner. */
    idempotencyKey: z.string(),
    runner: z.string().optional(),
    /** The rendered input, secrets redacted. */
    input: json.optional(),
    /** Epoch ms after which this attempt (or container) times out. */
    deadline: ms.optional(),
    /** wait steps: epoch ms when the timer fires. */
    wakeAt: ms.optional(),
    approval: z.strictObject({ prompt: z.string(), approvers: z.array(z.string()), deadline: ms.optional() }).optional(),
    child: z.strictObject({ sessionId: z.string(), workflow: z.string() }).optional(),
    /** loop steps: the evaluated list. */
    items: z.array(json).optional(),
    /** llm / agent steps: the Forest text retrieved for {{ context.<name> }} and the nodes it came from. */
    context: z.record(z.string(), z.strictObject({ text: z.string().max(200_000), read: z.array(z.string()), total: z.number().int().nonnegative() })).optional(),
  }),
  'step.succeeded': z.strictObject({
    step: key,
    attempt: z.number().int().nonnegative(),
    output: json.optional(),
    artifact: artifactRef.optional(),
    /** decision steps: the branch taken. */
    branch: z.enum(['then', 'else']).optional(),
    durationMs: ms,
  }),
  'step.failed': z.strictObject({
    step: key,
    attempt: z.number().int().nonnegative(),
    error: stepErrorSchema,
    /** A retry follows (step.retry_scheduled); the step is not finished. */
    willRetry: z.boolean(),
    durationMs: ms,
  }),
  'step.retry_scheduled': z.strictObject({ step: key, attempt: z.number().int().positive(), dueAt: ms, delayMs: ms }),
  'step.skipped': z.strictObject({ step: key, reason: z.string() }),
  'step.cancelled': z.strictObject({ step: key, reason: z.string() }),
  'step.rerouted': z.strictObject({
    step: key,
    goto: key,
    loop: z.number().int().positive(),
    reasons: z.array(z.string()),
    error: stepErrorSchema,
    /** Keys whose state is reset to pending (goto, everything downstream of it, their nested steps). */
    reset: z.array(key),
  }),
  'artifact.stored': z.strictObject({
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    mediaType: z.string(),
    producer: z.strictObject({ sessionId: z.string(), step: key, attempt: z.number().int().nonnegative() }),
    /** SHA-256 of the canonical rendered input of the producing attempt. */
    inputHash: z.string(),
  }),
  'session.paused': z.strictObject({ reason: z.string() }),
  'session.resumed': z.strictObject({}),
  'session.cancelled': z.strictObject({ reason: z.string() }),
  'session.succeeded': z.strictObject({ output: json }),
  'session.failed': z.strictObject({ error: stepErrorSchema, step: key.optional() }),
  'session.retried': z.strictObject({ reset: z.array(key) }),
  'session.migrated': z.strictObject({ from: workflowRef, workflow: workflowRef, source: z.string(), reason: z.string(), pinned: z.array(pinnedManifest).max(200).optional() }),
  'approval.decided': z.strictObject({ step: key, approved: z.boolean(), comment: z.string(), by: z.string() }),
  /** Another device asked the owner of a session to apply a command (stream `session-request:<id>`). */
  'session.requested': z.strictObject({
    sessionId: z.string(),
    command: z.enum(['session.pause', 'session.resume', 'session.cancel', 'session.retry', 'session.approve', 'session.reject']),
    payload: z.record(z.string(), json),
    /** The device that asked. */
    device: z.string(),
    actor: z.string(),
  }),
  'agent.turn': z.strictObject({
    step: key,
    attempt: z.number().int().positive(),
    /** 1-based turn of this attempt's loop. */
    turn: z.number().int().positive(),
    /** The model's text (may be empty when it only calls tools). */
    text: z.string(),
    toolCalls: z.array(z.strictObject({ id: z.string().min(1).max(200), name: z.string().min(1).max(200), input: json })),
    usage: z.strictObject({ inputTokens: z.number().int().nonnegative(), outputTokens: z.number().int().nonnegative() }),
    latencyMs: ms,
    finishReason: z.string(),
    model: z.string(),
    provider: z.string(),
  }),
  'agent.observation': z.strictObject({
    step: key,
    attempt: z.number().int().positive(),
    turn: z.number().int().positive(),
    /** The tool call this answers (agent.turn toolCalls[].id). */
    callId: z.string().min(1).max(200),
    tool: z.string().min(1).max(200),
    ok: z.boolean(),
    /** Exactly what the model was given back. */
    content: z.string().max(1_000_000),
    error: stepErrorSchema.optional(),
    truncated: z.boolean().optional(),
    /** Forest nodes the call read and wrote (for the session's summary links). */
    read: z.array(z.string()).optional(),
    wrote: z.array(z.string()).optional(),
    durationMs: ms,
  }),
} as const;

export type SessionEventType = keyof typeof payloads;
export type EventPayload<T extends SessionEventType> = z.infer<(typeof payloads)[T]>;
export type StepErrorData = z.infer<typeof stepErrorSchema>;
export type CarriedStep = z.infer<typeof carriedStep>;
export type PinnedManifest = z.infer<typeof pinnedManifest>;

const DESCRIPTIONS: { [T in SessionEventType]: string } = {
  'workflow.saved': 'A workflow definition was saved (a new revision of its name).',
  'workflow.archived': 'A workflow was archived: hidden from the library, still runnable by pinned sessions.',
  'session.started': 'A session started, pinning the definition (hash + source), the validated inputs and env, and the Tools and Agents it calls by name.',
  'step.scheduled': 'A step became ready to run (its dependencies finished).',
  'step.started': 'An attempt of a step started (runner call, timer, approval wait, child session or container).',
  'step.succeeded': 'A step finished with an output (inline or as a content-addressed artifact).',
  'step.failed': 'An attempt failed; willRetry tells whether a retry is scheduled.',
  'step.retry_scheduled': 'The next attempt of a failed step is due at dueAt (durable across restarts).',
  'step.skipped': 'A step will not run (if was false, branch not taken, dependency skipped).',
  'step.cancelled': 'A step was cancelled (session cancelled, sibling failed, race lost, timeout).',
  'step.rerouted': 'An onFailure route re-runs from goto: the listed step keys are reset.',
  'artifact.stored': 'A large output was stored as a content-addressed blob, with its provenance.',
  'session.paused': 'The session was paused: no new step starts until it is resumed.',
  'session.resumed': 'A paused session continues.',
  'session.cancelled': 'The session was cancelled; running steps were aborted.',
  'session.succeeded': 'The session finished; output is the workflow outputs rendered.',
  'session.failed': 'The session failed with a typed error.',
  'session.retried': 'A failed session runs again: the listed step keys are reset.',
  'session.migrated': 'The session now runs a new definition (explicit, validated migration).',
  'session.requested': "Another device asked the session's owner to pause, resume, cancel, retry, approve or reject; the owner's engine applies it (idempotency key request:<event id>).",
  'approval.decided': 'A person approved or rejected a step waiting for approval.',
  'agent.turn': 'An agent step\'s model answered one turn: its text and the tool calls it asked for (recorded before any tool runs).',
  'agent.observation': 'The result of one tool call of an agent step, exactly as the model was given it back.',
};

/** Events that carry their workspace (v2); other session events belong to their session's workspace. */
const SCOPED: ReadonlySet<SessionEventType> = new Set(['workflow.saved', 'workflow.archived', 'session.started']);

/** How a concurrent write of these events resolves (kernel conflicts.list shows it). */
const CONCURRENT: { [T in SessionEventType]?: string } = {
  'workflow.saved': 'Both saves become revisions, numbered in merge order; the later is the latest.',
  'workflow.archived': 'The later in merge order of a save and an archive decides whether the workflow is in the library.',
  'session.requested': "The owner applies requests in the order it receives them; one that no longer applies changes nothing.",
};

export const SESSION_EVENTS: EventDefinition[] = (Object.keys(payloads) as SessionEventType[]).map((type) => ({
  type,
  ...(CONCURRENT[type] ? { concurrent: CONCURRENT[type] } : {}),
  // v2: workspaceId (v1 events are lifted into the default workspace).
  version: SCOPED.has(type) ? 2 : 1,
  description: DESCRIPTIONS[type],
  schema: payloads[type],
  ...(SCOPED.has(type) ? { upcasters: [toDefaultWorkspace] } : {}),
  // A request to a session's owner concerns one database's devices: it never leaves in a workspace file.
  ...(type === 'session.requested' ? {} : { scope: 'workspace' as const }),
}));

export const SESSION_EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(payloads).filter((t) => !t.startsWith('workflow.') && t !== 'session.requested'));

/** The stream of requests other devices send a session's owner. */
export const sessionRequestStream = (id: string): string => `session-request:${id}`;

export interface SessionEventInput {
  readonly type: SessionEventType;
  readonly payload: Json;
}

export const sessionStream = (id: string): string => `session:${id}`;
/** `workflow:<workspaceId>/<name>` (v1 logs wrote `workflow:<name>`, in the default workspace). */
export const workflowStream = (workspaceId: string, name: string): string => `workflow:${workspaceId}/${name}`;

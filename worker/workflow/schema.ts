/**
 * The zod schema of a workflow file: shapes, types, enums, formats, defaults and short forms.
 * Cross-step rules (ids, references, cycles, reachability, templates) live in graph.ts and
 * references.ts; this file only judges each value where it stands.
 *
 * Invariants:
 * 1. Every object is strict: an unknown key is an issue, never silently dropped.
 * 2. The output is the normalised `Workflow` of types.ts (durations in ms, short forms expanded,
 *    defaults filled in); the input side is what `workflowJsonSchema()` publishes.
 * 3. Every schema carrying an `id` or `description` is registered in `workflowRegistry` only (not
 *    zod's global registry), so other modules' schema ids cannot collide with ours.
 */
import '../kernel/zod-setup.ts';
import { z } from 'zod';
import type { Json } from '../kernel/errors.ts';
import { DURATION_HINT, DURATION_PATTERN, MAX_DURATION_MS, formatDuration, parseDuration, parseInstant } from './duration.ts';
import { checkInputSpec } from './input-values.ts';
import { importSchema, manifestName } from './imports.ts';
import { BACKOFFS, HTTP_METHODS, INPUT_TYPES, type AgentTool, type Step, type Workflow } from './types.ts';

export const workflowRegistry = z.registry<{ id?: string; title?: string; description?: string; examples?: unknown[] }>();

export const STEP_ID_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
export const NAME_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;
export const IDENT_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const SEMVER_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;
const SEMVER_BODY = SEMVER_PATTERN.source.slice(1, -1);
export const WORKFLOW_REF_PATTERN = new RegExp(`^[a-z][a-z0-9_-]{0,63}(?:@${SEMVER_BODY})?$`);
export const RUNNER_PATTERN = /^[a-z][a-z0-9_.-]{0,99}$/;
export const MAX_STEPS = 500;

/** Names that reach prototypes; refused wherever the file names something. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'prototype', 'constructor']);
/** Names a loop's `as` may not take: they are already roots of the expression scope. */
export const RESERVED_ROOTS: ReadonlySet<string> = new Set([
  'inputs', 'steps', 'workflow', 'session', 'failure', 'loop', 'output', 'result', 'error', 'context', 'true', 'false', 'null', 'undefined',
]);

const expression = doc(z.string().min(1).max(4000), { description: 'An expression (no {{ }}), e.g. steps.check.output.ok == true.' });
const template = doc(z.string().max(100_000), { description: 'Text; {{ expression }} parts are filled in when the step runs.' });
const jsonValue = doc(z.custom<Json>(() => true), { description: 'Any JSON value; strings may hold {{ }} templates.' });
const jsonRecord = z.record(z.string(), jsonValue);

const stepId = doc(z.string().regex(STEP_ID_PATTERN, { error: 'expected a step id: a lowercase letter, then up to 63 of a-z 0-9 _ -' }), {
  id: 'StepId',
  description: 'A step id, unique in the whole workflow (nested steps included).',
});
const ident = z.string()
  .regex(IDENT_PATTERN, { error: 'expected a name usable in expressions: a letter or _, then up to 63 letters, digits or _' })
  .refine((s) => !FORBIDDEN_NAMES.has(s), { error: 'this name is reserved (it reaches JavaScript prototypes); pick another' });

/** A step id or a list of them; normalised to a list. */
const stepIds = z.union([stepId, z.array(stepId)], { error: 'expected a step id or a list of step ids, e.g. [build, test]' })
  .transform((v): string[] => (typeof v === 'string' ? [v] : v));

/** Durations: `min` is the smallest accepted number of ms. */
function duration(min: number) {
  return doc(
    z.union([z.number().int().min(0), z.string().regex(new RegExp(DURATION_PATTERN), { error: `expected ${DURATION_HINT}` })], { error: `expected ${DURATION_HINT}` })
      .transform((v, ctx): number => {
        const r = parseDuration(v);
        if (!r.ok) {
          ctx.issues.push({ code: 'custom', message: r.message, input: v, params: { code: 'invalid_duration' } });
          return z.NEVER;
        }
        if (r.ms < min) {
          ctx.issues.push({ code: 'custom', message: `must be at least ${formatDuration(min)}; got ${formatDuration(r.ms)}`, input: v, params: { code: 'invalid_duration' } });
          return z.NEVER;
        }
        return r.ms;
      }),
    { id: min === 0 ? 'Duration' : 'PositiveDuration', description: `${DURATION_HINT} (at most 365d${min > 0 ? ', more than 0' : ''}).`, examples: ['30s', '1h30m', 'PT5M', 5000] },
  );
}
const anyDuration = duration(0);
const positiveDuration = duration(1);

const retry = doc(
  z.strictObject({
    maxAttempts: z.number().int().min(1).max(100).default(3),
    backoff: z.enum(BACKOFFS).default('exponential'),
    initialDelay: anyDuration.default(1000),
    maxDelay: anyDuration.optional(),
    retryOn: z.array(z.string().min(1).max(100)).min(1).optional(),
  }).superRefine((r, ctx) => {
    if (r.maxDelay !== undefined && r.maxDelay < r.initialDelay) {
      ctx.addIssue({ code: 'custom', path: ['maxDelay'], message: `must be at least initialDelay (${formatDuration(r.initialDelay)}); got ${formatDuration(r.maxDelay)}`, params: { code: 'out_of_range' } });
    }
  }).transform((r) => ({ ...r, maxDelay: r.maxDelay ?? Math.min(r.initialDelay * 100, MAX_DURATION_MS) })),
  { id: 'RetryPolicy', description: 'Retry a failed attempt. Delays: exponential doubles, linear adds initialDelay, fixed repeats it; never above maxDelay (default 100 × initialDelay). retryOn lists the error types that retry (default: any retryable error).' },
);

const llmFields = {
  model: z.string().min(1).max(200),
  prompt: template.min(1),
  system: template.optional(),
  outputSchema: doc(z.record(z.string(), jsonValue), { description: 'JSON Schema the model output must match (stored as data).' }).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().min(1).max(1_000_000).optional(),
};

const hook = doc(
  z.discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('webhook'),
      config: z.strictObject({
        url: template.min(1),
        method: z.enum(HTTP_METHODS).default('POST'),
        headers: z.record(z.string().min(1).max(200), template).optional(),
        body: jsonValue.optional(),
      }),
    }),
    z.strictObject({ type: z.literal('task'), config: z.strictObject({ runner: z.string().regex(RUNNER_PATTERN), with: jsonRecord.default(() => ({})) }) }),
    z.strictObject({ type: z.literal('llm'), config: z.strictObject(llmFields) }),
  ]),
  { id: 'Hook', description: 'Runs on a lifecycle event; it does not change the outcome (a failing hook is logged).' },
);
const hooks = z.strictObject({ onStart: hook.optional(), onComplete: hook.optional(), onError: hook.optional() });

const gateCheck = z.strictObject({ check: expression, reason: template.min(1).optional() });
const gate = doc(
  z.union([gateCheck, z.array(gateCheck).min(1)], { error: 'expected a check ({ check, reason }) or a list of them' })
    .transform((g) => (Array.isArray(g) ? g : [g])),
  { id: 'Gate', description: 'Checks that must all pass after the step ran; a failing check fails the step with its reason.' },
);

const onFailure = doc(
  z.strictObject({ goto: stepId, maxLoops: z.number().int().min(1).max(100).default(3) }),
  { id: 'OnFailure', description: 'When the step fails (after retries) or its gate fails: run again from `goto` (this step or one upstream), at most maxLoops times.' },
);

const common = {
  id: stepId,
  name: z.string().min(1).max(200).optional(),
  dependsOn: stepIds.default(() => []),
  join: doc(z.enum(['all', 'any']).default('all'), { description: 'all: run when every dependency succeeded (a skipped one skips this step). any: run when every dependency finished and at least one succeeded (skipped ones are ignored) — to continue after a decision whichever branch ran.' }),
  retry: retry.optional(),
  timeout: positiveDuration.optional(),
  hooks: hooks.optional(),
  gate: gate.optional(),
  onFailure: onFailure.optional(),
  outputs: z.record(ident, jsonValue).optional(),
};
const guarded = { ...common, if: expression.optional() };

const until = z.string().min(1).max(200).transform((v, ctx): string => {
  if (v.includes('{{')) return v;
  const r = parseInstant(v);
  if (!r.ok) {
    ctx.issues.push({ code: 'custom', message: r.message, input: v, params: { code: 'invalid_time' } });
    return z.NEVER;
  }
  return r.iso;
});

const loopVar = ident.refine((s) => !RESERVED_ROOTS.has(s), { error: `this name is already used by expressions (${[...RESERVED_ROOTS].join(', ')}); pick another, e.g. item` });

const retrievalSize = { topK: z.number().int().min(1).max(50), budget: z.number().int().min(100).max(200_000).default(4000) };
const retrieval = doc(
  z.union([
    z.strictObject({
      forest: z.strictObject({ query: template.min(1), tags: z.array(template.min(1)).max(20).optional(), ...retrievalSize, topK: retrievalSize.topK.default(5) }),
    }),
    z.strictObject({
      history: z.strictObject({ query: template.min(1).optional(), outcome: z.enum(['any', 'succeeded', 'failed']).default('any'), ...retrievalSize, topK: retrievalSize.topK.default(3) }),
    }),
  ], { error: 'expected { forest: { query, tags?, topK?, budget? } } or { history: { query?, outcome?, topK?, budget? } }' }),
  { id: 'Retrieval', description: 'Text retrieved from the Forest when the step starts, readable in its prompt as {{ context.<name> }} and recorded with the step: forest (a search) or history (summaries of earlier sessions of this workflow, newest first).' },
);
const contextField = doc(z.record(ident, retrieval), { description: 'Named retrievals for the prompt: {{ context.<name> }}.' }).optional();

const taskStep = z.strictObject({ ...guarded, type: z.literal('task'), runner: doc(z.string().regex(RUNNER_PATTERN, { error: 'expected a runner name like http, transform or runner.deploy' }), { description: 'The runner that executes the task.' }), with: jsonRecord.default(() => ({})) });
const llmStep = z.strictObject({ ...guarded, type: z.literal('llm'), ...llmFields, context: contextField });
const agentTool = doc(
  z.union([
    z.enum(['forest.search', 'forest.write', 'http']).transform((kind): AgentTool => (kind === 'http' ? { kind, methods: ['GET'] } : { kind })),
    z.strictObject({
      http: z.strictObject({
        allow: z.array(template.min(1).max(2000)).min(1).max(100).optional(),
        methods: z.array(z.enum(HTTP_METHODS)).min(1).default(['GET']),
        headers: z.record(z.string().min(1).max(200), template).optional(),
      }),
    }).transform((t): AgentTool => ({ kind: 'http', ...t.http })),
    z.strictObject({
      workflow: z.string().regex(WORKFLOW_REF_PATTERN, { error: 'expected a workflow name, optionally with an exact version: deploy_service or deploy_service@1.2.0' }),
      description: z.string().min(1).max(2000).optional(),
    }).transform((t): AgentTool => ({ kind: 'workflow', ...t })),
  ], { error: 'expected forest.search, forest.write, http, { http: { allow, methods, headers } } or { workflow: <name>, description }' }),
  { id: 'AgentTool', description: 'A tool the agent may call: forest.search, forest.write, http (GET by default; { http: { allow: [url prefixes], methods, headers } } to restrict or widen it) or { workflow: <name> } (runs that workflow as a child session).' },
);
const agentStep = z.strictObject({
  ...guarded,
  type: z.literal('agent'),
  /** An Agent manifest by name (docs/manifests.md, "Execution by name"): persona, model, tools and output schema come from it. */
  agent: doc(manifestName, { description: 'An installed Agent manifest by name (its version range from imports): its persona, model, tools, outputSchema and maxTurns are used; the step gives the prompt.' }).optional(),
  ...llmFields,
  model: llmFields.model.optional(),
  context: contextField,
  tools: z.array(agentTool).max(32).optional(),
  maxTurns: doc(z.number().int().min(1).max(50).default(8), { description: 'Model turns at most; the last turn must answer (tools are withdrawn).' }),
}).superRefine((a, ctx) => {
  if (a.agent !== undefined) {
    for (const k of ['model', 'system', 'tools', 'outputSchema'] as const) {
      if (a[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: `${k} comes from the Agent manifest ${a.agent}; remove it here (or drop agent: and write the agent inline)`, params: { code: 'invalid_value' } });
    }
    return;
  }
  if (a.model === undefined) ctx.addIssue({ code: 'custom', path: ['model'], message: 'an agent step needs model (or agent: <an Agent manifest name>)', params: { code: 'missing_key' } });
  if (a.tools === undefined || a.tools.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['tools'], message: 'an agent step needs tools: a list of at least 1 (at most 32) tools (or agent: <an Agent manifest name>)', params: { code: a.tools === undefined ? 'missing_key' : 'out_of_range' } });
    return;
  }
  const seen = new Set<string>();
  a.tools.forEach((t, i) => {
    const name = t.kind === 'workflow' ? `workflow:${t.workflow}` : t.kind;
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['tools', i], message: `the tool ${name} is listed twice`, params: { code: 'invalid_value' } });
    seen.add(name);
  });
});
const forestStep = z.strictObject({
  ...guarded,
  type: z.literal('forest'),
  query: doc(template.min(1), { description: 'What to search the Forest for (words are ANDed; "phrases", prefix*, -exclude).' }),
  tags: z.array(template.min(1)).max(20).optional(),
  topK: z.number().int().min(1).max(50).default(5),
  budget: doc(z.number().int().min(100).max(200_000).default(4000), { description: 'Characters of output.text at most.' }),
});
const decisionStep = z.strictObject({
  ...common,
  type: z.literal('decision'),
  if: expression,
  then: z.union([stepId, z.array(stepId).min(1)], { error: 'expected a step id or a list of step ids' }).transform((v): string[] => (typeof v === 'string' ? [v] : v)),
  else: stepIds.default(() => []),
});
const parallelStep = z.strictObject({
  ...guarded,
  type: z.literal('parallel'),
  get branches(): z.ZodArray<z.ZodArray<z.ZodType<Step>>> {
    return z.array(z.array(stepSchema).min(1)).min(2);
  },
});
const raceStep = z.strictObject({
  ...guarded,
  type: z.literal('race'),
  get branches(): z.ZodArray<z.ZodArray<z.ZodType<Step>>> {
    return z.array(z.array(stepSchema).min(1)).min(2);
  },
});
const loopStep = z.strictObject({
  ...guarded,
  type: z.literal('loop'),
  over: expression,
  as: loopVar.default('item'),
  concurrency: z.number().int().min(1).max(100).default(1),
  get steps(): z.ZodArray<z.ZodType<Step>> {
    return z.array(stepSchema).min(1);
  },
});
const waitStep = z.strictObject({ ...guarded, type: z.literal('wait'), duration: anyDuration.optional(), until: until.optional() })
  .superRefine((w, ctx) => {
    if ((w.duration === undefined) === (w.until === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a wait step needs exactly one of duration (e.g. 5m) or until (an ISO time or template)', params: { code: w.duration === undefined ? 'missing_key' : 'invalid_value' } });
    }
  });
const approvalStep = z.strictObject({
  ...guarded,
  type: z.literal('approval'),
  prompt: template.min(1),
  approvers: z.array(z.string().min(1).max(200)).min(1).optional(),
  onTimeout: z.enum(['reject', 'approve']).default('reject'),
});
const workflowStep = z.strictObject({
  ...guarded,
  type: z.literal('workflow'),
  workflow: z.string().regex(WORKFLOW_REF_PATTERN, { error: 'expected a workflow name, optionally with an exact version: deploy_service or deploy_service@1.2.0' }),
  inputs: z.record(ident, jsonValue).default(() => ({})),
});

export const stepSchema: z.ZodType<Step> = doc(
  z.discriminatedUnion('type', [taskStep, llmStep, agentStep, forestStep, decisionStep, parallelStep, loopStep, waitStep, approvalStep, workflowStep, raceStep]),
  { id: 'Step', description: 'One step; `type` selects its fields.' },
) as unknown as z.ZodType<Step>;

const inputSpec = doc(
  z.strictObject({
    type: z.enum(INPUT_TYPES),
    required: z.boolean().default(false),
    default: jsonValue.optional(),
    enum: z.array(jsonValue).min(1).max(1000).optional(),
    description: z.string().max(10_000).optional(),
  }).superRefine((spec, ctx) => {
    for (const i of checkInputSpec(spec)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message, params: { code: 'invalid_default' } });
  }),
  { id: 'Input', description: 'A session input. A value missing at start takes the default; a required one without default is refused.' },
);

export const workflowSchema: z.ZodType<Workflow> = doc(
  z.strictObject({
    kind: doc(z.literal('Workflow', { error: 'a workflow file says kind: Workflow (or no kind); other kinds are manifests for the registry' }), { description: 'The manifest header (docs/manifests.md): the file is also a Workflow manifest.' }).optional(),
    imports: doc(z.array(importSchema).max(200), { description: 'What the workflow depends on (manifests: kind, name, version range), besides the Tools its task steps name.' }).optional(),
    name: z.string().regex(NAME_PATTERN, { error: 'expected a workflow name: a lowercase letter, then up to 63 of a-z 0-9 _ -' }),
    version: z.string().regex(SEMVER_PATTERN, { error: 'expected a semantic version like "1.0.0"' }),
    description: z.string().max(10_000).optional(),
    author: doc(z.string().min(1).max(200), { description: 'Who wrote the workflow (free text, shown, never interpreted).' }).optional(),
    inputs: z.record(ident, inputSpec).default(() => ({})),
    outputs: z.record(ident, jsonValue).optional(),
    timeout: positiveDuration.optional(),
    hooks: hooks.optional(),
    steps: z.array(stepSchema).min(1).max(MAX_STEPS),
  }),
  { title: 'Kingdom workflow', description: 'A workflow file: see docs/workflows.md.' },
) as unknown as z.ZodType<Workflow>;

/** The JSON Schema (draft 2020-12) of the file format, generated from the zod schema. */
export function workflowJsonSchema(): Record<string, unknown> {
  const js = z.toJSONSchema(workflowSchema, { io: 'input', unrepresentable: 'any', metadata: workflowRegistry, target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $schema: js['$schema'], $id: 'https://kingdom.local/schemas/workflow.json', ...js };
}

function doc<T extends z.ZodType>(schema: T, meta: { id?: string; title?: string; description?: string; examples?: unknown[] }): T {
  workflowRegistry.add(schema, meta);
  return schema;
}

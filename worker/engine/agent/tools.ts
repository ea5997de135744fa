/**
 * The tools of an agent step: what the model is told (name, description, JSON Schema of the
 * arguments) and how a call runs. Tools reuse the engine's runners, so a tool call behaves like the
 * task step it stands for (same validation, same typed errors, same idempotency keys).
 *
 * | step tool                 | model sees         | runs                                           |
 * |---------------------------|--------------------|------------------------------------------------|
 * | forest.search             | forest_search      | the forest.search runner (top-k, budget)       |
 * | forest.write              | forest_write       | the forest.write runner (node + links)         |
 * | http / { http: {...} }    | http_request       | the http runner, inside `allow` and `methods`  |
 * | { workflow: name }        | workflow_<name>    | a child session of that workflow, awaited      |
 * | { tool: name } (an Agent  | tool_<name>        | the Tool the session pinned (its parameters as |
 * |   manifest's tools)       |                    | the arguments' schema)                         |
 * | (outputSchema given)      | final_answer       | nothing: its arguments are the answer          |
 *
 * Invariants:
 * 1. A refused call (URL outside `allow`, a method not listed, arguments of the wrong shape) is an
 *    observation the model can correct, never a thrown error; only `aborted` propagates.
 * 2. A call's idempotency key is `<attempt key>/turn-<n>/<call index>`: re-running it after a
 *    crash replays forest writes, reuses the child session id, and repeats the HTTP key.
 * 3. Observation content is at most `maxChars` characters (then marked truncated).
 */
import type { Json } from '../../kernel/errors.ts';
import type { LlmTool } from '../llm/types.ts';
import { RunnerError, toStepError, type RunRequest, type Runner, type StepError, type ToolByName } from '../runners/types.ts';
import type { AgentTool } from '../../workflow/types.ts';

export const FINAL_ANSWER = 'final_answer';
export const DEFAULT_MAX_OBSERVATION_CHARS = 8000;

/** Saved workflows as tools (kernel-backed in the engine: workflows.ts). */
export interface WorkflowTools {
  /** The workflow's description and the JSON Schema of its inputs (saved in `workspaceId`), or why it cannot be a tool. */
  describe(ref: string, workspaceId?: string): { description: string; inputSchema: { [key: string]: Json } } | { error: string };
  /** Run it as a child session of the calling step and resolve with its outcome (rejects RunnerError). */
  run(ref: string, inputs: Json, call: ToolCallContext): Promise<Json>;
}

export interface ToolCallContext {
  readonly request: RunRequest;
  /** `<attempt key>/turn-<n>/<i>`. */
  readonly key: string;
}

export interface ToolResult {
  readonly ok: boolean;
  readonly content: string;
  readonly truncated: boolean;
  readonly error?: StepError;
  readonly read?: string[];
  readonly wrote?: string[];
}

export interface BoundTool {
  readonly tool: LlmTool;
  run(input: Json, call: ToolCallContext): Promise<ToolResult>;
}

export interface ToolEnvironment {
  readonly runner: (name: string) => Runner | undefined;
  /** The session's pinned Tools by name (execution by name: an Agent manifest's tools). */
  readonly tools?: (name: string) => ToolByName | undefined;
  readonly workflows?: WorkflowTools;
  /** The agent's session's workspace: workflow tools are looked up there. */
  readonly workspaceId?: string;
  readonly maxChars: number;
}

const obj = (properties: { [k: string]: Json }, required: string[]): { [k: string]: Json } => ({ type: 'object', properties, required, additionalProperties: false });
const str = (description: string): Json => ({ type: 'string', description });

/** Bind the step's tools; a tool that cannot be offered (unknown workflow) rejects `invalid_input` before any model call. */
export function bindTools(specs: readonly AgentTool[], env: ToolEnvironment): BoundTool[] {
  return specs.map((spec) => {
    switch (spec.kind) {
      case 'forest.search': return forestSearchTool(env);
      case 'forest.write': return forestWriteTool(env);
      case 'http': return httpTool(spec, env);
      case 'workflow': return workflowTool(spec, env);
      case 'tool': return namedTool(spec, env);
    }
  });
}

function forestSearchTool(env: ToolEnvironment): BoundTool {
  return {
    tool: {
      name: 'forest_search',
      description: 'Full-text search of the Forest knowledge graph (notes, past sessions and what they learned). Returns the best matches with their node ids.',
      inputSchema: obj({
        query: str('Words to search for (all must match; a trailing * matches a prefix).'),
        tags: { type: 'array', items: { type: 'string' }, description: 'Only nodes with every one of these tags, e.g. ["workflow:deploy"].' },
        topK: { type: 'integer', minimum: 1, maximum: 20, description: 'How many results (default 5).' },
      }, ['query']),
    },
    run: (input, call) => viaRunner(env, 'forest.search', pick(input, ['query', 'tags', 'topK']), call, (out) => {
      const o = out as { text?: string; total?: number; read?: string[] };
      const text = o.text && o.text !== '' ? o.text : 'No matching nodes.';
      return { content: `${o.total ?? 0} match${o.total === 1 ? '' : 'es'}.\n${text}`, read: o.read ?? [] };
    }),
  };
}

function forestWriteTool(env: ToolEnvironment): BoundTool {
  return {
    tool: {
      name: 'forest_write',
      description: 'Write a note to the Forest knowledge graph so later runs can find it, optionally linked to existing nodes by id.',
      inputSchema: obj({
        title: str('A short, specific title.'),
        body: str('Markdown body.'),
        tags: { type: 'array', items: { type: 'string' } },
        links: { type: 'array', items: obj({ to: str('An existing node id.'), type: str('Link type: lowercase letters, digits, _ (e.g. relates_to, caused_by).') }, ['to', 'type']) },
      }, ['title']),
    },
    run: (input, call) => viaRunner(env, 'forest.write', pick(input, ['title', 'body', 'tags', 'links']), call, (out) => {
      const o = out as { nodeId?: string; wrote?: string[] };
      return { content: JSON.stringify(out), wrote: o.wrote ?? (o.nodeId ? [o.nodeId] : []) };
    }),
  };
}

function httpTool(spec: Extract<AgentTool, { kind: 'http' }>, env: ToolEnvironment): BoundTool {
  const where = spec.allow ? ` Allowed URLs start with: ${spec.allow.join(', ')}.` : '';
  return {
    tool: {
      name: 'http_request',
      description: `Make an HTTP request and get back its status and body.${where} Methods: ${spec.methods.join(', ')}.`,
      inputSchema: obj({
        url: str('Absolute http(s) URL.'),
        method: { type: 'string', enum: spec.methods },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        body: { description: 'A string, or JSON sent as application/json.' },
      }, ['url']),
    },
    run: (input, call) => {
      const args = isObject(input) ? input : {};
      const url = typeof args['url'] === 'string' ? args['url'] : '';
      const method = typeof args['method'] === 'string' ? args['method'].toUpperCase() : 'GET';
      const refused = (why: string): Promise<ToolResult> => Promise.resolve(failure(new RunnerError('tool_refused', why, false), env.maxChars));
      if (!spec.methods.includes(method as never)) return refused(`The method ${method} is not allowed for this agent (allowed: ${spec.methods.join(', ')}).`);
      if (spec.allow && !spec.allow.some((prefix) => normalUrl(url).startsWith(normalUrl(prefix)))) return refused(`The URL ${url} is outside what this agent may call (allowed prefixes: ${spec.allow.join(', ')}).`);
      const headers = { ...(isObject(args['headers']) ? args['headers'] : {}), ...(spec.headers ?? {}) };
      const req: { [k: string]: Json } = { url, method, headers };
      if (args['body'] !== undefined && args['body'] !== null) req['body'] = args['body'];
      return viaRunner(env, 'http', req, call, (out) => ({ content: JSON.stringify(pick(out, ['status', 'body', 'bodyTruncated'])) }));
    },
  };
}

function workflowTool(spec: Extract<AgentTool, { kind: 'workflow' }>, env: ToolEnvironment): BoundTool {
  const host = env.workflows;
  if (!host) throw new RunnerError('runner_unavailable', `agent: workflow tools are not available here (${spec.workflow})`, false);
  const d = host.describe(spec.workflow, env.workspaceId);
  if ('error' in d) throw new RunnerError('invalid_input', `agent: the tool workflow ${spec.workflow} cannot be used: ${d.error}`, false, { workflow: spec.workflow });
  return {
    tool: { name: toolName(spec.workflow), description: spec.description ?? (d.description || `Runs the workflow ${spec.workflow} and returns its outcome.`), inputSchema: d.inputSchema },
    run: async (input, call) => {
      try {
        return ok(await host.run(spec.workflow, input, call), env.maxChars, (out) => ({ content: JSON.stringify(out) }));
      } catch (err) {
        return settleError(err, env.maxChars);
      }
    },
  };
}

function namedTool(spec: Extract<AgentTool, { kind: 'tool' }>, env: ToolEnvironment): BoundTool {
  const found = env.tools?.(spec.name);
  if (!found) throw new RunnerError('runner_unavailable', `agent: the Tool ${spec.name} was not pinned when the session started; install it and start a new session`, false, { tool: spec.name });
  const { tool } = found;
  const properties: { [k: string]: Json } = {};
  for (const [name, p] of Object.entries(tool.parameters)) {
    properties[name] = JSON.parse(JSON.stringify({ type: p.type, description: p.description, enum: p.enum })) as Json;
  }
  const required = Object.entries(tool.parameters).filter(([, p]) => p.required).map(([n]) => n);
  return {
    tool: { name: `tool_${spec.name.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64), description: tool.description, inputSchema: obj(properties, required) },
    run: (input, call) => viaRunner({ ...env, runner: (n) => (n === spec.name ? found : env.runner(n)) }, spec.name, isObject(input) ? input : {}, call, (out) => ({ content: JSON.stringify(out) })),
  };
}

/** `workflow_<name>`: the characters a provider accepts in a tool name. */
export function toolName(ref: string): string {
  return `workflow_${ref.split('@')[0]!.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/**
 * The tool the model answers with. Providers take only object schemas as tool arguments, so any
 * other outputSchema (a list, a string) is wrapped as `{ answer: <schema> }` and unwrapped by
 * `finalValue`.
 */
export function finalAnswerTool(schema: { readonly [key: string]: Json }): LlmTool {
  const description = 'Give your final answer. Call this once, when you are done; its arguments are the answer.';
  return { name: FINAL_ANSWER, description, inputSchema: objectSchema(schema) ? schema : { type: 'object', properties: { answer: schema }, required: ['answer'], additionalProperties: false } };
}

/** The answer in a final_answer call's arguments (unwrapped when the schema was wrapped). */
export function finalValue(args: Json, schema: { readonly [key: string]: Json }): Json {
  if (objectSchema(schema)) return args;
  return typeof args === 'object' && args !== null && !Array.isArray(args) && 'answer' in args ? args['answer'] ?? null : args;
}

const objectSchema = (schema: { readonly [key: string]: Json }): boolean => schema['type'] === 'object';

async function viaRunner(env: ToolEnvironment, name: string, input: { [k: string]: Json }, call: ToolCallContext, view: (out: Json) => { content: string; read?: string[]; wrote?: string[] }): Promise<ToolResult> {
  const runner = env.runner(name);
  if (!runner) return failure(new RunnerError('runner_unavailable', `The ${name} runner is not available.`, false), env.maxChars);
  const r = call.request;
  try {
    const out = await runner.execute({ input, signal: r.signal, idempotencyKey: call.key, sessionId: r.sessionId, ...(r.workspaceId ? { workspaceId: r.workspaceId } : {}), ...(r.projectId ? { projectId: r.projectId } : {}), stepKey: r.stepKey, attempt: r.attempt, tryNumber: 1, now: r.now });
    return ok(out, env.maxChars, view);
  } catch (err) {
    return settleError(err, env.maxChars);
  }
}

function ok(out: Json, maxChars: number, view: (out: Json) => { content: string; read?: string[]; wrote?: string[] }): ToolResult {
  const v = view(out);
  return { ok: true, ...clip(v.content, maxChars), ...(v.read ? { read: v.read } : {}), ...(v.wrote ? { wrote: v.wrote } : {}) };
}

function settleError(err: unknown, maxChars: number): ToolResult {
  if (err instanceof RunnerError && err.type === 'aborted') throw err;
  return failure(err, maxChars);
}

export function failure(err: unknown, maxChars: number): ToolResult {
  const error = toStepError(err);
  return { ok: false, error, ...clip(`Error (${error.type}): ${error.message}`, maxChars) };
}

function clip(text: string, max: number): { content: string; truncated: boolean } {
  if (text.length <= max) return { content: text, truncated: false };
  return { content: `${text.slice(0, Math.max(0, max - 16))}… (truncated)`, truncated: true };
}

function pick(v: Json, keys: readonly string[]): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  if (!isObject(v)) return out;
  for (const k of keys) if (v[k] !== undefined && v[k] !== null) out[k] = v[k];
  return out;
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function normalUrl(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url;
  }
}

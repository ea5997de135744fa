/**
 * The `agent` runner: a durable tool-calling loop. Each turn the model answers with text and/or
 * tool calls; the turn is recorded (`agent.turn`) before any tool runs, each tool's result is
 * recorded (`agent.observation`) before the next turn, and the loop ends with a final answer.
 *
 * Input (rendered by the engine): the llm fields (`model`, `prompt`, `system`, `outputSchema`,
 * `temperature`, `maxTokens`), `tools` (normalised AgentTool list) and `maxTurns`.
 *
 * Output: `{ text, json (with outputSchema), turns, toolCalls, model, provider, usage, latencyMs,
 * finishReason, read, wrote }` (read / wrote: Forest node ids the tools touched).
 *
 * Invariants:
 * 1. Resume: the journal's turns and observations rebuild the conversation; recorded turns are
 *    never sent to the model again, recorded tool calls never run again. A call recorded without
 *    its observation (the crash hit while it ran) runs again with the same idempotency key.
 * 2. The answer: without outputSchema, the first turn without tool calls; with one, a
 *    `final_answer` tool call whose arguments validate (or a plain JSON text that does). An invalid
 *    answer is fed back (as the tool's result, or as a user message) and costs a turn.
 * 3. At most `maxTurns` model calls; the last one cannot call tools (with outputSchema it must
 *    call final_answer). No valid answer by then: `invalid_output` if the last turn tried to
 *    answer, else `max_turns` (neither retryable).
 * 4. Model call n sends `Idempotency-Key: <key>/turn-<n>`.
 */
import type { Json } from '../../kernel/errors.ts';
import { connectModel, createProviderResolver, parseLlmInput } from '../llm/runner.ts';
import type { LlmMessage, LlmProvider, LlmTool, LlmToolCall } from '../llm/types.ts';
import { formatSchemaErrors, validateJson, type SchemaError } from '../llm/validate.ts';
import { RunnerError, type JournalEntry, type RunRequest, type Runner } from '../runners/types.ts';
import type { AgentTool } from '../../workflow/types.ts';
import { bindTools, DEFAULT_MAX_OBSERVATION_CHARS, failure, FINAL_ANSWER, finalAnswerTool, finalValue, type BoundTool, type ToolResult, type WorkflowTools } from './tools.ts';

export interface AgentRunnerOptions {
  /** The providers of a workspace (the request's; health asks without one). */
  readonly providers: (workspaceId?: string) => readonly LlmProvider[];
  /** The runners tools run on (forest.search, forest.write, http). */
  readonly runner: (name: string) => Runner | undefined;
  readonly workflows?: WorkflowTools;
  readonly fetch?: typeof fetch;
  /** Streamed text per step; setting it turns streaming on. */
  readonly onToken?: (request: RunRequest, text: string) => void;
  /** Characters of a tool result given to the model at most (default 8000). */
  readonly maxObservationChars?: number;
}

interface Turn {
  readonly turn: number;
  readonly text: string;
  readonly toolCalls: LlmToolCall[];
  readonly usage: { inputTokens: number; outputTokens: number };
  readonly latencyMs: number;
  readonly finishReason: string;
  readonly model: string;
  readonly provider: string;
}

interface Observation extends ToolResult {
  readonly callId: string;
}

type Verdict = { done: true; output: { text: string; json?: Json } } | { done: false; tried: boolean };

export function createAgentRunner(options: AgentRunnerOptions): Runner {
  return {
    name: 'agent',
    capabilities: { pure: false, network: true, stepTypes: ['llm'], description: 'A tool-calling agent loop (Forest, http, workflows); every turn and tool result is recorded.' },
    health: () => {
      const n = options.providers().length;
      return Promise.resolve(n > 0 ? { ok: true, detail: `${n} LLM provider${n === 1 ? '' : 's'} configured` } : { ok: false, detail: 'No LLM provider is configured.' });
    },
    execute: (request) => runAgent(request, options, createProviderResolver(() => options.providers(request.workspaceId))),
  };
}

async function runAgent(request: RunRequest, options: AgentRunnerOptions, resolve: (model: string) => LlmProvider | undefined): Promise<Json> {
  const input = parseLlmInput(request.input, 'agent');
  const maxTurns = request.input['maxTurns'];
  if (typeof maxTurns !== 'number' || !Number.isSafeInteger(maxTurns) || maxTurns < 1) throw new RunnerError('invalid_input', 'agent: "maxTurns" must be a positive integer', false);
  const specs = request.input['tools'];
  if (!Array.isArray(specs)) throw new RunnerError('invalid_input', 'agent: "tools" must be a list', false);
  const { target, client, fetch: doFetch } = connectModel(resolve, input.model, options.fetch, 'agent');
  const tools = bindTools(specs as unknown as AgentTool[], { runner: options.runner, ...(request.tools ? { tools: request.tools } : {}), ...(options.workflows ? { workflows: options.workflows } : {}), ...(request.workspaceId ? { workspaceId: request.workspaceId } : {}), maxChars: options.maxObservationChars ?? DEFAULT_MAX_OBSERVATION_CHARS });
  const byName = new Map<string, BoundTool>(tools.map((t) => [t.tool.name, t]));
  const schema = input.outputSchema;
  const offered: LlmTool[] = [...tools.map((t) => t.tool), ...(schema ? [finalAnswerTool(schema)] : [])];
  const journal = request.journal;
  /** Record a note; what comes back (redacted) is what the conversation goes on with. */
  const append = async (entry: JournalEntry): Promise<JournalEntry> => (journal ? journal.append(entry) : entry);

  const { turns, observations } = replay(journal?.entries ?? []);
  const messages: LlmMessage[] = [{ role: 'user', content: input.prompt }];
  const read = new Set<string>();
  const wrote = new Set<string>();
  let tried = false;
  for (let n = 1; ; n++) {
    let turn = turns[n - 1];
    if (!turn) {
      if (n > maxTurns) throw endError(tried, maxTurns, turns);
      const last = n === maxTurns;
      const response = await client(target.provider, {
        model: target.model,
        messages: [...messages],
        ...(input.system !== undefined ? { system: input.system } : {}),
        tools: offered,
        toolChoice: last ? (schema ? { name: FINAL_ANSWER } : 'none') : 'auto',
        ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
        ...(input.maxTokens !== undefined ? { maxTokens: input.maxTokens } : {}),
      }, {
        fetch: doFetch,
        signal: request.signal,
        stream: options.onToken !== undefined,
        ...(options.onToken ? { onToken: (text: string) => options.onToken!(request, text) } : {}),
        idempotencyKey: `${request.idempotencyKey}/turn-${n}`,
        now: request.now,
      });
      turn = { turn: n, text: response.text, toolCalls: [...(response.toolCalls ?? [])], usage: response.usage, latencyMs: response.latencyMs, finishReason: response.finishReason, model: response.model, provider: response.provider };
      turn = (await append({ type: 'agent.turn', payload: turn as unknown as { [k: string]: Json } })).payload as unknown as Turn;
      turns.push(turn);
    }
    messages.push({ role: 'assistant', content: turn.text, ...(turn.toolCalls.length > 0 ? { toolCalls: turn.toolCalls } : {}) });
    let answer: { input: Json; callId: string } | undefined;
    for (const [i, call] of turn.toolCalls.entries()) {
      if (call.name === FINAL_ANSWER && schema) {
        answer ??= { input: call.input, callId: call.id };
        continue;
      }
      let obs = observations.get(`${n}/${call.id}`);
      if (!obs) {
        const started = request.now();
        const tool = byName.get(call.name);
        const result: ToolResult = tool
          ? await tool.run(call.input, { request, key: `${request.idempotencyKey}/turn-${n}/${i}` })
          : failure(new RunnerError('unknown_tool', `there is no tool named ${call.name}; the tools are ${offered.map((t) => t.name).join(', ')}.`, false), Infinity);
        // Fresh or replayed, an observation is what the journal holds.
        obs = (await append({ type: 'agent.observation', payload: observationPayload(n, call, { callId: call.id, ...result }, Math.max(0, request.now() - started)) })).payload as unknown as Observation;
      }
      for (const id of obs.read ?? []) read.add(id);
      for (const id of obs.wrote ?? []) wrote.add(id);
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: obs.content });
    }
    const verdict = judge(turn, answer, schema, messages);
    if (verdict.done) return output(verdict.output, turns, read, wrote);
    tried = verdict.tried;
  }
}

/** Decide whether a turn ended the loop; when an answer was invalid, add the feedback to the conversation. */
function judge(turn: Turn, answer: { input: Json; callId: string } | undefined, schema: { readonly [k: string]: Json } | undefined, messages: LlmMessage[]): Verdict {
  if (!schema) return turn.toolCalls.length === 0 ? { done: true, output: { text: turn.text } } : { done: false, tried: false };
  let errors: SchemaError[];
  if (answer) {
    const value = finalValue(answer.input, schema);
    errors = validateJson(value, schema);
    if (errors.length === 0) return { done: true, output: { text: JSON.stringify(value), json: value } };
    messages.push({ role: 'tool', toolCallId: answer.callId, name: FINAL_ANSWER, content: `Your answer did not match the schema: ${formatSchemaErrors(errors)}. Call final_answer again with a corrected answer.` });
    // Other calls of a turn that also answered were answered above; every call has its result.
    return { done: false, tried: true };
  }
  if (turn.toolCalls.length > 0) return { done: false, tried: false };
  let parsed: Json | undefined;
  try {
    parsed = JSON.parse(turn.text) as Json;
  } catch {
    parsed = undefined;
  }
  errors = parsed === undefined ? [{ path: '$', message: 'the answer is not JSON' }] : validateJson(parsed, schema);
  if (errors.length === 0) return { done: true, output: { text: turn.text, json: parsed! } };
  messages.push({ role: 'user', content: `Give your final answer by calling final_answer (${formatSchemaErrors(errors)}).` });
  return { done: false, tried: true };
}

function replay(entries: readonly JournalEntry[]): { turns: Turn[]; observations: Map<string, Observation> } {
  const turns: Turn[] = [];
  const observations = new Map<string, Observation>();
  for (const e of entries) {
    const p = e.payload as { [k: string]: Json };
    if (e.type === 'agent.turn') {
      turns.push(p as unknown as Turn);
    } else {
      const o = p as unknown as Observation & { turn: number };
      observations.set(`${o.turn}/${o.callId}`, o);
    }
  }
  return { turns, observations };
}

function observationPayload(turn: number, call: LlmToolCall, o: Observation, durationMs: number): { [k: string]: Json } {
  return {
    turn, callId: call.id, tool: call.name, ok: o.ok, content: o.content, durationMs,
    ...(o.truncated ? { truncated: true } : {}),
    ...(o.error ? { error: o.error as unknown as Json } : {}),
    ...(o.read && o.read.length > 0 ? { read: o.read } : {}),
    ...(o.wrote && o.wrote.length > 0 ? { wrote: o.wrote } : {}),
  };
}

function output(answer: { text: string; json?: Json }, turns: readonly Turn[], read: Set<string>, wrote: Set<string>): Json {
  const last = turns[turns.length - 1]!;
  return {
    text: answer.text,
    ...(answer.json !== undefined ? { json: answer.json } : {}),
    turns: turns.length,
    toolCalls: turns.reduce((n, t) => n + t.toolCalls.filter((c) => c.name !== FINAL_ANSWER).length, 0),
    model: last.model,
    provider: last.provider,
    usage: {
      inputTokens: turns.reduce((n, t) => n + t.usage.inputTokens, 0),
      outputTokens: turns.reduce((n, t) => n + t.usage.outputTokens, 0),
    },
    latencyMs: turns.reduce((n, t) => n + t.latencyMs, 0),
    finishReason: last.finishReason,
    read: [...read],
    wrote: [...wrote],
  };
}

function endError(tried: boolean, maxTurns: number, turns: readonly Turn[]): RunnerError {
  const details = { turns: turns.length, maxTurns, lastText: turns[turns.length - 1]?.text ?? '' };
  return tried
    ? new RunnerError('invalid_output', `agent: no answer matched the outputSchema within ${maxTurns} turn${maxTurns === 1 ? '' : 's'}`, false, details)
    : new RunnerError('max_turns', `agent: no final answer within ${maxTurns} turn${maxTurns === 1 ? '' : 's'}`, false, details);
}

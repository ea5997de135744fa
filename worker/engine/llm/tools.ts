/**
 * General tool calling, shared by the provider clients: request checks, the wire shapes of tools,
 * tool choices and tool-call conversations for both providers, and reading tool calls back.
 *
 * Wire (OpenAI): `tools: [{ type: 'function', function: { name, description, parameters } }]`,
 * `tool_choice: 'auto' | 'none' | { type: 'function', function: { name } }`; an assistant turn with
 * calls is `{ role: 'assistant', content (null when empty), tool_calls: [{ id, type: 'function',
 * function: { name, arguments (JSON text) } }] }`; a result is `{ role: 'tool', tool_call_id, content }`.
 *
 * Wire (Anthropic): `tools: [{ name, description, input_schema }]`, `tool_choice: { type: 'auto' |
 * 'none' } | { type: 'tool', name }`; an assistant turn with calls has the content blocks
 * `[{ type: 'text', text } (when not empty), { type: 'tool_use', id, name, input }...]`; results are
 * a user message `[{ type: 'tool_result', tool_use_id, content }...]` (consecutive tool messages
 * share one user message, as the API wants every result of a turn together).
 *
 * Invariants:
 * 1. `checkTools` refuses (invalid_input, before any request) tools together with an outputSchema,
 *    a tool without a name, duplicate names, and a `{ name }` choice that names no given tool.
 * 2. `toolChoice` is sent only with a non-empty `tools` list.
 * 3. `finishToolCalls` parses each call's accumulated arguments (empty → `{}`); text that is not
 *    JSON rejects with `invalid_output` (not retryable) carrying the raw arguments in details.
 */
import type { Json } from '../../kernel/errors.ts';
import { RunnerError } from '../runners/types.ts';
import type { LlmMessage, LlmRequest, LlmTool, LlmToolCall } from './types.ts';

/** A tool call being read: arguments as JSON text (streamed pieces, or the stringified input). */
export interface PendingToolCall {
  id: string;
  name: string;
  args: string;
}

export function hasTools(request: LlmRequest): boolean {
  return request.tools !== undefined && request.tools.length > 0;
}

export function checkTools(provider: string, request: LlmRequest): void {
  const invalid = (what: string): RunnerError => new RunnerError('invalid_input', `${provider}: ${what}`, false, { provider });
  const tools: readonly LlmTool[] = request.tools ?? [];
  if (tools.length > 0 && request.outputSchema !== undefined) throw invalid('a request cannot have both tools and an outputSchema (use outputSchema on the final answer only)');
  const names = new Set<string>();
  for (const t of tools) {
    if (typeof t.name !== 'string' || t.name === '') throw invalid('a tool has no name');
    if (names.has(t.name)) throw invalid(`the tool name "${t.name}" is used twice`);
    names.add(t.name);
  }
  const choice = request.toolChoice;
  if (typeof choice === 'object' && !names.has(choice.name)) throw invalid(`toolChoice names "${choice.name}", which is not among the tools`);
}

/** Parse the accumulated calls (holes left by skipped stream indexes are dropped). */
export function finishToolCalls(provider: string, calls: readonly (PendingToolCall | undefined)[]): LlmToolCall[] {
  const out: LlmToolCall[] = [];
  for (const c of calls) {
    if (!c) continue;
    const raw = c.args.trim();
    let input: Json;
    try {
      input = raw === '' ? {} : (JSON.parse(raw) as Json);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new RunnerError('invalid_output', `${provider}: the arguments of the tool call "${c.name}" (${c.id}) are not valid JSON (${why})`, false, {
        provider, toolCallId: c.id, name: c.name, arguments: c.args,
      });
    }
    out.push({ id: c.id, name: c.name, input });
  }
  return out;
}

// ---- OpenAI ----

export function openaiMessages(request: LlmRequest): Json[] {
  const out: Json[] = [];
  if (request.system !== undefined && request.system !== '') out.push({ role: 'system', content: request.system });
  for (const m of request.messages) out.push(openaiMessage(m));
  return out;
}

function openaiMessage(m: LlmMessage): Json {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'user' || !m.toolCalls || m.toolCalls.length === 0) return { role: m.role, content: m.content };
  return {
    role: 'assistant',
    content: m.content === '' ? null : m.content,
    tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } })),
  };
}

/** Adds `tools` and `tool_choice` to an OpenAI body. */
export function addOpenAITools(body: { [key: string]: Json }, request: LlmRequest): void {
  if (!hasTools(request)) return;
  body['tools'] = (request.tools ?? []).map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.inputSchema } }));
  const choice = request.toolChoice;
  if (choice === undefined) return;
  body['tool_choice'] = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

// ---- Anthropic ----

export function anthropicMessages(messages: readonly LlmMessage[]): Json[] {
  const out: Json[] = [];
  let results: Json[] | undefined; // the tool_result blocks of the user message being built
  for (const m of messages) {
    if (m.role === 'tool') {
      const block: Json = { type: 'tool_result', tool_use_id: m.toolCallId, content: m.content };
      if (results) {
        results.push(block);
      } else {
        results = [block];
        out.push({ role: 'user', content: results });
      }
      continue;
    }
    results = undefined;
    if (m.role === 'user' || !m.toolCalls || m.toolCalls.length === 0) {
      out.push({ role: m.role, content: m.content });
      continue;
    }
    const blocks: Json[] = m.content === '' ? [] : [{ type: 'text', text: m.content }];
    for (const c of m.toolCalls) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input });
    out.push({ role: 'assistant', content: blocks });
  }
  return out;
}

/** Adds `tools` and `tool_choice` to an Anthropic body. */
export function addAnthropicTools(body: { [key: string]: Json }, request: LlmRequest): void {
  if (!hasTools(request)) return;
  body['tools'] = (request.tools ?? []).map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
  const choice = request.toolChoice;
  if (choice === undefined) return;
  body['tool_choice'] = typeof choice === 'string' ? { type: choice } : { type: 'tool', name: choice.name };
}

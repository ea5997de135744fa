/**
 * Forest runners: task steps that read and write the knowledge graph (worker/forest), so a
 * workflow can give a model context from past work and keep what it produced.
 *
 * - `runner: forest.search` `{ query, tags?, topK? (default 5, ≤ 50), budget? (characters,
 *   default 4000) }` → `{ hits: [{ id, title, snippet, tags, score }], total, text, read }`.
 *   `text` is the hits as a compact markdown list (title, tags, an excerpt of the body) cut to
 *   `budget` characters, for prompts: `{{ steps.ctx.output.text }}`. `read` lists the hit ids.
 * - `runner: forest.write` `{ title, body?, tags?, metadata?, links?: [{ to, type }] }` →
 *   `{ nodeId, created, links: [{ to, type, created }], wrote: [nodeId] }`.
 *
 * Invariants:
 * 1. forest.write is the deliberate exception to "runners never write to the kernel": it writes
 *    through ordinary kernel commands whose idempotency keys derive from the attempt's key
 *    (`<key>/node`, `<key>/link/<i>`) and carry the session id, so re-running an in-flight attempt
 *    after a crash replays the stored results instead of writing twice.
 * 2. Everything forest.write needs is checked before the first write (link types, link targets
 *    exist and are active): a bad input fails `invalid_input` having written nothing.
 * 3. Both run synchronously (no network); they only reject with RunnerErrors.
 * 4. Both stay in the request's workspace (the session's): search reads only its nodes, write
 *    creates the node there (filed under the session's project while that is active) and links
 *    only to nodes there.
 */
import type { Json } from '../kernel/errors.ts';
import type { CommandInput, CommandResult } from '../kernel/commands/envelope.ts';
import { RunnerError, type Runner, type RunRequest } from './runners/types.ts';
import { DEFAULT_WORKSPACE_ID } from '../domains/workspaces/scope.ts';

export interface ForestAccess {
  readonly command: (input: CommandInput) => CommandResult;
  readonly query: (name: string, params: unknown) => unknown;
}

export const DEFAULT_TOP_K = 5;
export const MAX_TOP_K = 50;
export const DEFAULT_BUDGET = 4000;
const MAX_BUDGET = 200_000;
const LINK_TYPE = /^[a-z][a-z0-9_]{0,63}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** `{ sessionId }` for a Forest command (whose sessionId must be a UUID, as engine session ids are). */
export function sessionField(sessionId: string): { sessionId?: string } {
  return UUID.test(sessionId) ? { sessionId } : {};
}

interface Hit { id: string; title: string; snippet: string; tags: string[]; score: number }

/** `runners` plus forest.search / forest.write (unless a runner of that name is already there). */
export function withForestRunners(runners: readonly Runner[], access: ForestAccess): Runner[] {
  const names = new Set(runners.map((r) => r.name));
  return [...runners, ...createForestRunners(access).filter((r) => !names.has(r.name))];
}

export function createForestRunners(access: ForestAccess): Runner[] {
  const health = (): Promise<{ ok: boolean; detail: string }> => Promise.resolve({ ok: true, detail: 'reads the local Forest' });
  return [
    {
      name: 'forest.search',
      capabilities: { pure: false, network: false, stepTypes: ['task'], description: 'Searches the Forest knowledge graph; output.text is the hits as markdown for a prompt.' },
      health,
      execute: (req) => settle(req, () => forestSearch(access, req.input, req.workspaceId ?? DEFAULT_WORKSPACE_ID)),
    },
    {
      name: 'forest.write',
      capabilities: { pure: false, network: false, stepTypes: ['task'], description: 'Writes a node (and links) to the Forest, idempotently per attempt.' },
      health,
      execute: (req) => settle(req, () => forestWrite(access, req)),
    },
  ];
}

function settle(req: RunRequest, fn: () => Json): Promise<Json> {
  if (req.signal.aborted) return Promise.reject(new RunnerError('aborted', 'the step was aborted', false));
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof RunnerError ? err : kernelFailure(err));
  }
}

export function forestSearch(access: ForestAccess, input: { readonly [k: string]: Json }, workspaceId: string): Json {
  const query = opt(input, 'query');
  if (typeof query !== 'string') invalid('forest.search: "query" is required and must be a string');
  const tags = stringList(input, 'tags', 'forest.search');
  const topK = intIn(input, 'topK', DEFAULT_TOP_K, 1, MAX_TOP_K, 'forest.search');
  const budget = intIn(input, 'budget', DEFAULT_BUDGET, 1, MAX_BUDGET, 'forest.search');
  const res = access.query('forest.search', { workspaceId, query: query.slice(0, 1000), limit: topK, ...(tags.length > 0 ? { tags } : {}) }) as { hits: Hit[]; total: number };
  const hits: Hit[] = res.hits.map((h) => ({ id: h.id, title: h.title, snippet: h.snippet, tags: h.tags, score: Math.round(h.score * 1000) / 1000 }));
  return { hits: hits as unknown as Json, total: res.total, text: nodesText(access, hits, budget, workspaceId), read: hits.map((h) => h.id) };
}

/**
 * Nodes as a compact markdown list for a prompt: `- **title** [tags] (node id)` and an excerpt of
 * the body, each entry sharing `budget` characters, the whole cut to `budget`.
 */
export function nodesText(access: ForestAccess, nodes: readonly { id: string; title: string; tags: readonly string[]; snippet?: string }[], budget: number, workspaceId: string): string {
  const share = nodes.length > 0 ? Math.max(120, Math.floor(budget / nodes.length)) : budget;
  const entries = nodes.map((h) => {
    const head = `- **${oneLine(h.title)}**${h.tags.length > 0 ? ` [${h.tags.join(', ')}]` : ''} (node ${h.id})`;
    const got = access.query('forest.node.get', { workspaceId, id: h.id }) as { node: { body: string } } | null;
    const body = oneLine(got?.node.body ?? '') || (h.snippet ?? '').replace(/[«»]/g, '');
    return body ? `${head}\n  ${cut(body, Math.max(40, share - head.length - 3))}` : head;
  });
  return cut(entries.join('\n'), budget);
}

export function forestWrite(access: ForestAccess, req: RunRequest): Json {
  const input = req.input;
  const workspaceId = req.workspaceId ?? DEFAULT_WORKSPACE_ID;
  const title = opt(input, 'title');
  if (typeof title !== 'string' || title.trim() === '') invalid('forest.write: "title" is required and must be a non-empty string');
  const body = opt(input, 'body');
  const bodyText = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  const tags = stringList(input, 'tags', 'forest.write');
  const metadata = opt(input, 'metadata');
  if (metadata !== undefined && (typeof metadata !== 'object' || Array.isArray(metadata) || metadata === null)) invalid('forest.write: "metadata" must be an object');
  const rawLinks = opt(input, 'links') ?? [];
  if (!Array.isArray(rawLinks)) invalid('forest.write: "links" must be a list of { to, type }');
  const links = rawLinks.map((l, i) => {
    const o = (typeof l === 'object' && l !== null && !Array.isArray(l) ? l : {}) as { [k: string]: Json };
    if (typeof o['to'] !== 'string' || typeof o['type'] !== 'string' || !LINK_TYPE.test(o['type'])) invalid(`forest.write: links[${i}] must be { to: <node id>, type: <lower_snake_case> }`);
    const target = access.query('forest.node.get', { workspaceId, id: o['to'] }) as { node: { status: string } } | null;
    if (target?.node.status !== 'active') invalid(`forest.write: links[${i}].to: no active node ${o['to']} in this workspace`);
    return { to: o['to'], type: o['type'] };
  });
  const key = req.idempotencyKey;
  const run = (type: string, payload: { [k: string]: Json }, k: string): Json =>
    access.command({ type, payload: { ...payload, ...sessionField(req.sessionId) }, idempotencyKey: k, actor: 'engine' }).value as Json;
  const project = req.projectId ? access.query('project.get', { projectId: req.projectId }) as { status: string } | null : null;
  const node = run('forest.node.create', {
    workspaceId,
    ...(project?.status === 'active' ? { projectId: req.projectId! } : {}),
    title: title.trim(), ...(bodyText !== undefined ? { body: bodyText } : {}), ...(tags.length > 0 ? { tags } : {}), ...(metadata !== undefined ? { metadata } : {}),
  }, `${key}/node`) as { nodeId: string };
  const made = links.map((l, i) => {
    const v = run('forest.link.create', { from: node.nodeId, to: l.to, type: l.type }, `${key}/link/${i}`) as { created: boolean };
    return { to: l.to, type: l.type, created: v.created };
  });
  return { nodeId: node.nodeId, created: true, links: made, wrote: [node.nodeId] };
}

function kernelFailure(err: unknown): RunnerError {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'invalid_payload' || code === 'invalid_query' || code === 'not_found' || code === 'archived') return new RunnerError('invalid_input', message, false, { code });
  return new RunnerError('runner_error', message, false, typeof code === 'string' ? { code } : {});
}

function opt(input: { readonly [k: string]: Json }, k: string): Json | undefined {
  return input[k] === null ? undefined : input[k];
}

function stringList(input: { readonly [k: string]: Json }, k: string, who: string): string[] {
  const v = opt(input, k);
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) invalid(`${who}: "${k}" must be a list of strings`);
  return v as string[];
}

function intIn(input: { readonly [k: string]: Json }, k: string, dflt: number, min: number, max: number, who: string): number {
  const v = opt(input, k);
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) invalid(`${who}: "${k}" must be an integer from ${min} to ${max}`);
  return v;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/** `s` cut to at most n characters (code units), ending in … when cut. */
export function cut(s: string, n: number): string {
  if (s.length <= n) return s;
  if (n <= 1) return '…'.slice(0, n);
  let end = n - 1;
  if (/[\uD800-\uDBFF]/.test(s[end - 1] ?? '')) end--;
  return `${s.slice(0, end)}…`;
}

function invalid(message: string): never {
  throw new RunnerError('invalid_input', message, false);
}

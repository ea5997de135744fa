/**
 * Execution by name in the engine (docs/manifests.md, "Execution by name"): the Tools and Agents
 * a session pinned when it started (session.started `pinned`) as runners and agent settings.
 *
 * - A task step whose runner the engine does not have runs the pinned Tool of that name: its
 *   `with:` values (rendered) are checked against the Tool's parameters and completed with their
 *   defaults, then an `http` Tool renders its request (templates over `params.<name>` and
 *   `secrets.<NAME>` of the session's workspace) and sends it through the engine's `http` runner,
 *   and a `transform` Tool evaluates its expression over `params` and returns it through the
 *   `transform` runner: same checks, errors and output as those runners.
 * - An agent step with `agent: <name>` gets the pinned Agent's persona (system), model, tools
 *   (Tools by name, or forest.search / forest.write / http) and outputSchema; maxTurns too.
 *
 * Invariants:
 * 1. Only what the session pinned is used: installing, upgrading or removing a manifest while the
 *    session runs changes nothing for it.
 * 2. A pinned source that no longer parses (a newer reader) fails the step with `runner_unavailable`
 *    naming the pin; it never falls back to another version.
 * 3. Secret values appear only in the request sent, never in what is recorded (the step's input is
 *    its `with:` values).
 */
import type { Json } from '../kernel/errors.ts';
import { parseManifest } from '../manifests/parse.ts';
import { checkParams, withDefaults } from '../manifests/params.ts';
import type { Pin } from '../manifests/execution.ts';
import type { AgentManifest, ToolManifest } from '../manifests/schema.ts';
import { renderDeep } from '../workflow/templates.ts';
import { evaluateSource } from '../workflow/expr/index.ts';
import type { AgentTool } from '../workflow/types.ts';
import { RunnerError, type RunRequest, type Runner, type ToolByName } from './runners/types.ts';

/** A pinned Tool as a runner, with what an agent shows the model about it. */
export type NamedTool = ToolByName;

/** The part of a session's state that names resolve in. */
interface Session { readonly pinned?: readonly Pin[] | undefined; readonly workspaceId: string }

export interface NamedContext {
  /** The engine's runners (http and transform do a Tool's work). */
  readonly runner: (name: string) => Runner | undefined;
  /** Secret values of a workspace, by name. */
  readonly secrets: (workspaceId: string) => ReadonlyMap<string, string>;
}

const BUILT_IN_AGENT_TOOLS = new Set(['forest.search', 'forest.write', 'http']);

export class NamedManifests {
  private readonly parsed = new Map<string, ToolManifest | AgentManifest | string>();
  private readonly tools = new Map<string, NamedTool>();

  constructor(private readonly ctx: NamedContext) {}

  /** What a step's runner name means in a session: an engine runner, else the Tool of that name it pinned. */
  runnerFor(session: Session, name: string): Runner | RunnerError | undefined {
    const own = this.ctx.runner(name);
    if (own && name === 'agent') {
      // The agent runner, given the named Agent's settings and the session's Tools.
      return { ...own, execute: (r) => {
        let input: { [k: string]: Json };
        try {
          input = this.agentInput(session.pinned, r.input);
        } catch (err) {
          return Promise.reject(err);
        }
        return own.execute({ ...r, input, tools: this.toolsOf(session) });
      } };
    }
    return own ?? this.tool(session.pinned, name, session.workspaceId);
  }

  /** The session's pinned Tools by name (RunRequest.tools, for an agent's Tools). */
  toolsOf(session: Session): (name: string) => NamedTool | undefined {
    return (name) => {
      const t = this.tool(session.pinned, name, session.workspaceId);
      return t instanceof RunnerError ? undefined : t;
    };
  }

  /** The runner of the Tool `name` that `pinned` holds, for a session of `workspaceId`. */
  tool(pinned: readonly Pin[] | undefined, name: string, workspaceId: string): NamedTool | RunnerError | undefined {
    const pin = pinned?.find((p) => p.kind === 'Tool' && p.name === name);
    if (!pin) return undefined;
    const key = `${workspaceId}|${pin.hash}`;
    const cached = this.tools.get(key);
    if (cached) return cached;
    const m = this.manifest(pin);
    if (typeof m === 'string') return new RunnerError('runner_unavailable', m, false, { tool: name, version: pin.version });
    const runner = toolRunner(m as ToolManifest, pin.version, this.ctx, workspaceId);
    if (this.tools.size > 256) this.tools.clear();
    this.tools.set(key, runner);
    return runner;
  }

  /** An agent step's input with its named Agent's settings (unchanged without `agent`). */
  agentInput(pinned: readonly Pin[] | undefined, input: { readonly [k: string]: Json }): { [k: string]: Json } {
    const name = input['agent'];
    if (typeof name !== 'string') return { ...input };
    const pin = pinned?.find((p) => p.kind === 'Agent' && p.name === name);
    if (!pin) throw new RunnerError('runner_unavailable', `agent: the Agent ${name} was not pinned when the session started; start a new session after installing it`, false, { agent: name });
    const m = this.manifest(pin);
    if (typeof m === 'string') throw new RunnerError('runner_unavailable', m, false, { agent: name, version: pin.version });
    const a = m as AgentManifest;
    const tools: AgentTool[] = a.tools.map((t) => (t === 'http' ? { kind: 'http', methods: ['GET'] } : BUILT_IN_AGENT_TOOLS.has(t) ? { kind: t as 'forest.search' | 'forest.write' } : { kind: 'tool', name: t }));
    const { agent: _agent, ...rest } = input;
    return JSON.parse(JSON.stringify({
      ...rest, model: a.model.provider ? `${a.model.provider}/${a.model.name}` : a.model.name, system: a.persona, tools, outputSchema: a.outputSchema, maxTurns: a.maxTurns,
    })) as { [k: string]: Json };
  }

  private manifest(pin: Pin): ToolManifest | AgentManifest | string {
    let m = this.parsed.get(pin.hash);
    if (m === undefined) {
      const res = parseManifest(pin.source);
      m = res.ok && (res.manifest.kind === 'Tool' || res.manifest.kind === 'Agent') ? res.manifest as ToolManifest | AgentManifest
        : `The pinned ${pin.kind} ${pin.name}@${pin.version} no longer reads: ${res.ok ? 'it is not a Tool or an Agent' : res.errors[0]!.message}. Start a new session.`;
      if (this.parsed.size > 256) this.parsed.clear();
      this.parsed.set(pin.hash, m);
    }
    return m;
  }
}

function toolRunner(tool: ToolManifest, version: string, ctx: NamedContext, workspaceId: string): NamedTool {
  const who = `Tool ${tool.name}@${version}`;
  const http = tool.runner === 'http';
  return {
    name: tool.name,
    tool: { name: tool.name, version, description: tool.description ?? `${who} (${tool.runner})`, parameters: tool.parameters },
    capabilities: { pure: !http, network: http, stepTypes: ['task', 'hook'], description: tool.description ?? who },
    health: () => Promise.resolve({ ok: true, detail: `${who}, pinned by the session` }),
    execute: (request: RunRequest): Promise<Json> => {
      const problems = checkParams(tool, request.input, false);
      if (problems.length > 0) return Promise.reject(new RunnerError('invalid_input', `${who}: ${problems.map((p) => p.message).join('; ')}`, false, { tool: tool.name, version }));
      const params = withDefaults(tool, request.input);
      const base = ctx.runner(tool.runner);
      if (!base) return Promise.reject(new RunnerError('runner_unavailable', `${who} needs the ${tool.runner} runner, which this engine does not have`, false));
      let input: { [k: string]: Json };
      try {
        if (tool.http) {
          const secrets = Object.fromEntries(ctx.secrets(workspaceId));
          input = JSON.parse(JSON.stringify(renderDeep({ url: tool.http.url, method: tool.http.method, headers: tool.http.headers, body: tool.http.body }, { params, secrets }))) as { [k: string]: Json };
        } else {
          input = { value: JSON.parse(JSON.stringify(evaluateSource(tool.transform!.expression, { params }) ?? null)) as Json };
        }
      } catch (err) {
        return Promise.reject(new RunnerError('invalid_input', `${who}: ${err instanceof Error ? err.message : String(err)}`, false, { tool: tool.name, version }));
      }
      return base.execute({ ...request, input });
    },
  };
}

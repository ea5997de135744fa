/**
 * Execution by name (docs/manifests.md, "Execution by name"): which Tools and Agents a workflow
 * names, which installed versions a session pins, and what is wrong with those names — found when
 * a session starts (errors) or while editing (warnings), never first when the step runs.
 *
 * - A task step (or a `type: task` hook) whose runner is neither built in nor a runner of this
 *   host names a Tool; an agent step's `agent:` names an Agent, whose `tools` name Tools. The
 *   version range is the workflow's import of that kind and name (an Agent's own imports for its
 *   tools), else any; the highest installed version in range is pinned.
 * - `with:` is checked against the Tool's parameters (checkParams): a required one missing, an
 *   unknown key (did-you-mean), and the type and enum of literal values; a value with a `{{ }}`
 *   template is checked when the step runs, after rendering.
 * - `{{ env.X }}` (or `env.X` in a condition) whose name is not in the session's env is a warning;
 *   while editing (no env known) every such reference is one, saying to give it at start.
 *
 * Invariants:
 * 1. Pure: the registry comes in as data; nothing is read or written.
 * 2. Issues carry paths into the normalised workflow; the workflow module reports them where they
 *    were written (locateIssues). Issues without `warning` refuse a start.
 * 3. One pin per kind and name: a second use of the same name must be satisfied by that version.
 */
import { maxSatisfying, satisfies } from 'semver';
import type { Json } from '../kernel/errors.ts';
import type { RawIssue, Path } from '../workflow/issues.ts';
import type { Hook, Hooks, Step, Workflow } from '../workflow/types.ts';
import { expressionReferences, templateReferences } from '../workflow/templates.ts';
import type { AgentManifest, ToolManifest } from './schema.ts';
import { checkParams } from './params.ts';

export { checkParams, withDefaults, type ParamProblem } from './params.ts';

/** One installed Tool or Agent, parsed. */
export type Installed =
  | { readonly kind: 'Tool'; readonly name: string; readonly version: string; readonly hash: string; readonly source: string; readonly manifest: ToolManifest }
  | { readonly kind: 'Agent'; readonly name: string; readonly version: string; readonly hash: string; readonly source: string; readonly manifest: AgentManifest };

/** What a session keeps of a Tool or Agent it calls (session.started `pinned`). */
export interface Pin {
  readonly kind: 'Tool' | 'Agent';
  readonly name: string;
  readonly version: string;
  /** SHA-256 of the manifest's source as applied (manifest.applied `hash`). */
  readonly hash: string;
  readonly source: string;
}

export interface ExecutionCheck {
  readonly pins: Pin[];
  /** Errors (refuse a start) and warnings (`warning: true`), with paths into the normalised workflow. */
  readonly issues: RawIssue[];
}

export interface ExecutionOptions {
  /** Whether a task step's runner is one the engine has (built in or the host's own). */
  readonly isRunner: (name: string) => boolean;
  /** The names set in the session's env; undefined while editing (the env is given at start). */
  readonly env?: ReadonlySet<string>;
}

type Use =
  | { readonly kind: 'Tool'; readonly name: string; readonly at: Path; readonly with: { readonly [k: string]: Json }; readonly withAt: Path }
  | { readonly kind: 'Agent'; readonly name: string; readonly at: Path };

export function checkExecution(workflow: Workflow, installed: readonly Installed[], options: ExecutionOptions): ExecutionCheck {
  const pins = new Map<string, Installed>();
  const issues: RawIssue[] = [];
  const imported = (kind: string, name: string, imports: Workflow['imports']): string => imports?.find((i) => i.kind === kind && i.name === name)?.version ?? '*';
  const resolve = (kind: 'Tool' | 'Agent', name: string, range: string): Installed | { missing: string } => {
    const key = `${kind}/${name}`;
    const have = installed.filter((m) => m.kind === kind && m.name === name);
    const pinned = pins.get(key);
    if (pinned) return satisfies(pinned.version, range) ? pinned : { missing: `${kind} ${name} is pinned at ${pinned.version} for this session, outside the range ${range} also asked for; make the ranges agree` };
    const best = maxSatisfying(have.map((m) => m.version), range);
    const found = have.find((m) => m.version === best);
    if (found) {
      pins.set(key, found);
      return found;
    }
    if (have.length > 0) return { missing: `no installed version of the ${kind} ${name} is in the range ${range} (installed: ${have.map((m) => m.version).join(', ')}); install one in range or change the import` };
    return {
      missing: kind === 'Tool'
        ? `${name} is not a built-in runner and no Tool named ${name} is installed in this workspace; apply its Tool manifest or install a kata that brings it`
        : `no Agent named ${name} is installed in this workspace; apply its Agent manifest or install a kata that brings it`,
    };
  };
  for (const use of usesOf(workflow, options.isRunner)) {
    const range = imported(use.kind, use.name, workflow.imports);
    const found = resolve(use.kind, use.name, range);
    if ('missing' in found) {
      issues.push({ path: use.at, code: use.kind === 'Tool' ? 'unknown_runner' : 'unknown_agent', message: found.missing });
      continue;
    }
    if (use.kind === 'Tool' && found.kind === 'Tool') {
      for (const p of checkParams(found.manifest, use.with, true)) {
        issues.push({ path: p.key !== undefined ? [...use.withAt, p.key] : use.withAt, code: p.code, message: p.message, ...(p.code === 'unknown_key' ? { atKey: true } : {}) });
      }
    }
    if (found.kind === 'Agent') {
      for (const tool of found.manifest.tools) {
        if (options.isRunner(tool)) continue;
        const t = resolve('Tool', tool, imported('Tool', tool, found.manifest.imports));
        if ('missing' in t) issues.push({ path: use.at, code: 'unknown_runner', message: `the Agent ${found.name}@${found.version} calls the Tool ${tool}: ${t.missing}` });
      }
    }
  }
  issues.push(...envIssues(workflow, options.env));
  const list = [...pins.values()].map((m): Pin => ({ kind: m.kind, name: m.name, version: m.version, hash: m.hash, source: m.source }));
  return { pins: list.sort((a, b) => (`${a.kind}/${a.name}` < `${b.kind}/${b.name}` ? -1 : 1)), issues };
}

/** Every Tool and Agent use in a workflow, in document order, with its path. */
function usesOf(workflow: Workflow, isRunner: (name: string) => boolean): Use[] {
  const out: Use[] = [];
  const hook = (h: Hook | undefined, at: Path): void => {
    if (h?.type === 'task' && !isRunner(h.config.runner)) out.push({ kind: 'Tool', name: h.config.runner, at: [...at, 'config', 'runner'], with: h.config.with, withAt: [...at, 'config', 'with'] });
  };
  const hooks = (hs: Hooks | undefined, at: Path): void => {
    for (const k of ['onStart', 'onComplete', 'onError'] as const) hook(hs?.[k], [...at, 'hooks', k]);
  };
  const walk = (steps: readonly Step[], at: Path): void => {
    steps.forEach((step, i) => {
      const p = [...at, i];
      if (step.type === 'task' && !isRunner(step.runner)) out.push({ kind: 'Tool', name: step.runner, at: [...p, 'runner'], with: step.with, withAt: [...p, 'with'] });
      if (step.type === 'agent' && step.agent !== undefined) out.push({ kind: 'Agent', name: step.agent, at: [...p, 'agent'] });
      hooks(step.hooks, p);
      if (step.type === 'loop') walk(step.steps, [...p, 'steps']);
      if (step.type === 'parallel' || step.type === 'race') step.branches.forEach((b, n) => walk(b, [...p, 'branches', n]));
    });
  };
  walk(workflow.steps, ['steps']);
  hooks(workflow.hooks, []);
  return out;
}

const EXPRESSION_KEYS = new Set(['if', 'over', 'check']);

/** `env.X` read in a template or condition for a name the env does not set (all of them while editing). */
function envIssues(workflow: Workflow, env: ReadonlySet<string> | undefined): RawIssue[] {
  const out: RawIssue[] = [];
  const stack: { v: unknown; path: Path }[] = [{ v: workflow, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === 'string') {
      const last = path[path.length - 1];
      let refs: string[] = [];
      try {
        refs = typeof last === 'string' && EXPRESSION_KEYS.has(last) && !v.includes('{{') ? expressionReferences(v) : v.includes('{{') ? templateReferences(v) : [];
      } catch {
        refs = []; // the parser already reported it
      }
      for (const ref of refs) {
        const m = /^env(?:\.([A-Za-z_$][\w$]*)|\["([^"]+)"\])/.exec(ref);
        const name = m?.[1] ?? m?.[2];
        if (name === undefined || env?.has(name)) continue;
        out.push({
          path, code: 'env_unset', warning: true, needle: ref.slice(0, m![0].length),
          message: env === undefined
            ? `env.${name} is read from the session's env: give ${name} in env when you start the session (unset, it reads as null)`
            : `env.${name} is not set: this session was started without ${name} in its env, so it reads as null; pass env: { ${name}: … } when you start it`,
        });
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, path: [...path, i] }));
    else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) if (k !== 'imports') stack.push({ v: x, path: [...path, k] });
  }
  return out;
}

/**
 * Execution by name for the session commands (docs/manifests.md, "Execution by name"): a session
 * pins the Tools and Agents its workflow calls by name when it starts, and a workflow that names
 * a runner that is neither built in, nor this host's, nor an installed Tool (or an Agent that is
 * not installed, or gives a Tool's parameters wrongly) is refused with `invalid_workflow`, each
 * issue at the line where it was written. Unset `env.X` references are warnings.
 *
 * Invariants:
 * 1. `decide`-side code is pure: the installed manifests come from `load` (installedNamed), the
 *    host's runners from the DecideContext.
 * 2. Needs both the workflow parser and the manifest reader loaded (workflowCode, manifestCode).
 */
import type { Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import type { Workflow, WorkflowIssue } from '../../workflow/index.ts';
import { workflowCode } from '../../workflow/code.ts';
import { manifestCode } from '../../manifests/code.ts';
import type { Installed, Pin } from '../../manifests/index.ts';
import { installedForExecution } from '../manifests/installed.ts';

/** What `load` reads for the check: the workspace's installed Tools and Agents. */
export function installedNamed(r: Reader, workspaceId: string): Installed[] {
  return installedForExecution(r, workspaceId);
}

export interface NamedResult {
  readonly pins: Pin[];
  readonly warnings: WorkflowIssue[];
}

/**
 * Check and pin (session.start and its siblings): throws `invalid_workflow` with every error
 * located; returns the pins and the warnings. `env` undefined: not known (editing).
 */
export function checkNamed(source: string, workflow: Workflow, installed: readonly Installed[], runners: ReadonlySet<string>, env: { readonly [k: string]: Json } | undefined): NamedResult {
  const code = manifestCode.get();
  const res = code.checkExecution(workflow, installed, { isRunner: (n) => code.BUILTIN_RUNNERS.has(n) || runners.has(n), ...(env ? { env: new Set(Object.keys(env)) } : {}) });
  const locate = workflowCode.get().locateIssues;
  const errors = res.issues.filter((i) => i.warning !== true);
  if (errors.length > 0) {
    const issues = locate(source, errors);
    const first = issues[0]!;
    throw new KernelError('invalid_workflow', `The workflow has ${issues.length} problem(s); first: line ${first.line}:${first.column} ${first.path}: ${first.message}`, { issues: issues as unknown as Json });
  }
  return { pins: res.pins, warnings: locate(source, res.issues.filter((i) => i.warning === true)) };
}

/** The same issues, all as warnings (the editor: saving never waits for a Tool to be installed). */
export function namedWarnings(source: string, workflow: Workflow, installed: readonly Installed[], runners: ReadonlySet<string>, env: { readonly [k: string]: Json } | undefined): WorkflowIssue[] {
  const code = manifestCode.get();
  const res = code.checkExecution(workflow, installed, { isRunner: (n) => code.BUILTIN_RUNNERS.has(n) || runners.has(n), ...(env ? { env: new Set(Object.keys(env)) } : {}) });
  return workflowCode.get().locateIssues(source, res.issues);
}

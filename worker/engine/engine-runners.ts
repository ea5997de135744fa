/**
 * The runners an engine gets by default: the built-in ones (http, transform, noop, demo.*) and
 * the llm runner bound to the providers and keys configured in this kernel; and the agent runner.
 * Custom runners (EngineOptions.runners) are added to these (withCustomRunners).
 */
import { defaultRunners, isLlmSlot, type Runner } from './runners/index.ts';
import type { RunRequest } from './runners/types.ts';
import { createLlmRunner } from './llm/runner.ts';
import type { EngineLookups } from './lookups.ts';
import type { StepProgress } from './progress.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { createAgentRunner } from './agent/runner.ts';
import { kernelWorkflowTools } from './agent/workflows.ts';
import { DEFAULT_WORKSPACE_ID } from '../domains/workspaces/scope.ts';
/** The workspace policy every dispatched runner is wrapped in (policy-guard.ts). */
export { PolicyGuard } from './policy-guard.ts';

/** Providers of the request's workspace (health, asked without one, reports the default workspace's). */
const providersIn = (lookups: EngineLookups) => (workspaceId?: string) => lookups.llmProviders(workspaceId ?? DEFAULT_WORKSPACE_ID);

export function engineRunners(lookups: EngineLookups, onProgress?: (p: StepProgress) => void): Runner[] {
  const llm = createLlmRunner({ providers: providersIn(lookups), ...tokens(onProgress) });
  return [...defaultRunners().filter((r) => r.name !== 'llm'), llm];
}

/**
 * The engine's `defaults` plus `custom`: a custom runner is added, or replaces the default of the
 * same name (deliberately: that is how a test or a host swaps `http` or `llm`). An unbound llm
 * placeholder among `custom` (from `[...defaultRunners(), mine]`) is dropped, so llm steps keep
 * running on the configured providers. Two custom runners with one name still throw in the registry.
 */
export function withCustomRunners(defaults: readonly Runner[], custom: readonly Runner[]): Runner[] {
  const own = custom.filter((r) => !isLlmSlot(r));
  const names = new Set(own.map((r) => r.name));
  return [...defaults.filter((r) => !names.has(r.name)), ...own];
}

/** `runners` plus the agent runner (unless one is given): its tools run on `runner(name)`, workflows as child sessions of `kernel`. */
export function withAgentRunner(runners: readonly Runner[], kernel: Kernel, lookups: EngineLookups, runner: (name: string) => Runner | undefined, onProgress?: (p: StepProgress) => void): Runner[] {
  if (runners.some((r) => r.name === 'agent')) return [...runners];
  const agent = createAgentRunner({
    providers: providersIn(lookups),
    runner,
    workflows: kernelWorkflowTools(kernel),
    ...tokens(onProgress),
  });
  return [...runners, agent];
}

function tokens(onProgress?: (p: StepProgress) => void): { onToken?: (r: RunRequest, text: string) => void } {
  return onProgress ? { onToken: (r, text) => onProgress({ sessionId: r.sessionId, step: r.stepKey, attempt: r.attempt, kind: 'tokens', text }) } : {};
}

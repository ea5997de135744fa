/**
 * The runners an engine gets by default: the built-in ones (http, transform, noop, demo.*) and
 * the llm runner bound to the providers and keys configured in this kernel.
 */
import { defaultRunners, type Runner } from './runners/index.ts';
import { createLlmRunner } from './llm/runner.ts';
import type { EngineLookups } from './lookups.ts';
import type { StepProgress } from './progress.ts';

export function engineRunners(lookups: EngineLookups, onProgress?: (p: StepProgress) => void): Runner[] {
  const llm = createLlmRunner({
    providers: () => lookups.llmProviders(),
    ...(onProgress ? { onToken: (r, text) => onProgress({ sessionId: r.sessionId, step: r.stepKey, attempt: r.attempt, kind: 'tokens', text }) } : {}),
  });
  return [...defaultRunners().filter((r) => r.name !== 'llm'), llm];
}

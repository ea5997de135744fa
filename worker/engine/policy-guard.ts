/**
 * The workspace policy at run time (kernel layer 4, docs/policies.md): every runner the engine
 * dispatches to — a task step's, an llm or agent step's, a hook's, and a runner an agent's tool
 * call uses — is wrapped, so each call is judged against the session's workspace policy first.
 *
 * Invariants:
 * 1. The policy is read (query `policy.get`) at the moment of each call, never cached: a change
 *    applies to the next call, also inside a running session or agent loop.
 * 2. Two checks, in order: the runner's name against the runner lists; then, for a network runner
 *    whose input names a `url` (the http runner, and a custom network runner taking one), the
 *    URL's host and port against the host lists. LLM provider calls are not judged by host: a
 *    provider's base URL is itself workspace configuration changed only by an audited command
 *    (`llm.provider.set`); deny the `llm` or `agent` runner to stop model calls.
 * 3. A refused call never reaches the runner (no request leaves). It rejects with the RunnerError
 *    `policy_denied` (not retryable; its message names the host or runner and the rule) after
 *    recording `policy.violation.record` (audited), idempotently per call: the key derives from the
 *    call's own idempotency key, so a re-run of the same attempt after a crash records it once.
 * 4. A request without a workspace (a runner called outside the engine) is not judged.
 */
import type { Json } from '../kernel/errors.ts';
import { KernelError } from '../kernel/errors.ts';
import type { CommandInput } from '../kernel/commands/envelope.ts';
import { checkHost, checkRunner, deniedSentence, displayHost, type PatternKind, type Verdict } from '../domains/policies/rules.ts';
import { RunnerError, type RunRequest, type Runner } from './runners/types.ts';
import { ask, type QueryPort } from './ask.ts';

/** The part of the kernel the guard needs: the policy query and a command to record a refusal. */
export interface PolicyPort extends QueryPort {
  systemBatch(inputs: readonly CommandInput[]): unknown;
}

export class PolicyGuard {
  private readonly wrapped = new WeakMap<Runner, Runner>();

  /** `kernel` is asked for at the first call (the engine builds its guard before it holds the kernel). */
  constructor(private readonly kernel: () => PolicyPort, private readonly onError: (err: unknown) => void = () => {}) {}

  /** `runner` judged by the policy before every call (the same wrapper for the same runner). */
  guard(runner: Runner | undefined): Runner | undefined {
    if (!runner) return undefined;
    let w = this.wrapped.get(runner);
    if (!w) {
      w = { name: runner.name, capabilities: runner.capabilities, health: () => runner.health(), execute: (request) => this.execute(runner, request) };
      this.wrapped.set(runner, w);
    }
    return w;
  }

  private async execute(runner: Runner, request: RunRequest): Promise<Json> {
    // Out of the engine's synchronous flush before writing to the kernel (and the policy is read now).
    await Promise.resolve();
    const workspaceId = request.workspaceId;
    if (workspaceId !== undefined) {
      const policy = ask(this.kernel(), 'policy.get', { workspaceId });
      const byRunner = checkRunner(policy, runner.name);
      if (!byRunner.ok) throw this.refuse(request, workspaceId, runner.name, 'runner', runner.name, byRunner);
      const url = request.input['url'];
      if (runner.capabilities.network && typeof url === 'string') {
        const byHost = checkHost(policy, url);
        if (!byHost.ok) throw this.refuse(request, workspaceId, runner.name, 'host', displayHost(url) ?? url, byHost);
      }
    }
    return runner.execute(request);
  }

  private refuse(request: RunRequest, workspaceId: string, runner: string, kind: PatternKind, target: string, verdict: Extract<Verdict, { ok: false }>): RunnerError {
    const message = deniedSentence(kind, target, verdict);
    const payload = {
      workspaceId, kind, target: target.slice(0, 300), runner, list: verdict.list, rule: verdict.rule,
      sessionId: request.sessionId, stepKey: request.stepKey, attempt: request.attempt, message: message.slice(0, 1000),
    };
    try {
      this.kernel().systemBatch([{ type: 'policy.violation.record', payload, idempotencyKey: `policy-violation:${request.idempotencyKey}`, actor: 'engine' }]);
    } catch (err) {
      // The same call recorded before under another policy (a re-run after a crash): the first record stands.
      if (!(err instanceof KernelError && err.code === 'idempotency_key_reused')) this.onError(err);
    }
    return new RunnerError('policy_denied', message, false, { kind, target, rule: verdict.rule, list: verdict.list, runner });
  }
}

/**
 * Why a step or a session failed, in words: the engine records a step error as `{ type, message,
 * details }` (runner error types such as `auth`, `timeout`, `invalid_output`, `gate_failed`; see
 * docs/engine.md). This turns one into a plain sentence with what to do; the type and the
 * recorded message stay in the details. Pure module.
 *
 * Invariant: a sentence shows no snake_case type and ends with what to do (ACTION_VERBS).
 */
import { isPlain } from './plain.ts';

export interface StepFailure {
  readonly type: string;
  readonly message: string;
  readonly details?: unknown;
}

interface Words {
  readonly problem: string;
  readonly action: string;
}

const MODEL_KEY = 'Check the key in Settings → LLM providers (Test connection tells at once), then retry.';

/** By error type; `*` is every type not listed. */
export const STEP_WORDS: { readonly [type: string]: Words } = {
  auth: { problem: 'The provider refused the API key.', action: MODEL_KEY },
  rate_limit: { problem: 'The provider is limiting requests, or the account’s quota is used up.', action: 'Wait a minute and retry, or check the plan with the provider.' },
  context_length: { problem: 'The prompt is too long for the model.', action: 'Shorten the inputs or pick a model with a larger context, then run it again.' },
  bad_request: { problem: 'The provider refused the request (often: a model name it does not know, or a setting it does not support).', action: 'Check the model name and the step’s settings, then run it again.' },
  provider_error: { problem: 'The provider failed to answer (an error on its side).', action: 'Retry in a moment.' },
  network: { problem: 'The request did not reach the server: this device is offline, the address is wrong, or the server does not allow requests from this page (CORS).', action: 'Check the address and the connection, then retry.' },
  timeout: { problem: 'The step did not finish within its time limit.', action: 'Retry, or give the step a longer timeout.' },
  aborted: { problem: 'The step was stopped before it finished.', action: 'Retry it if it should still run.' },
  invalid_output: { problem: 'The model’s answers did not fit what the step needed.', action: 'Try another model or make the prompt clearer, then run it again.' },
  max_turns: { problem: 'The agent used all its turns without giving a final answer.', action: 'Raise maxTurns or make the task smaller, then run it again.' },
  unknown_tool: { problem: 'The agent asked for a tool it does not have.', action: 'Check the step’s tools, then run it again.' },
  tool_refused: { problem: 'The agent asked for a tool it may not use.', action: 'Check the step’s tools, then run it again.' },
  invalid_input: { problem: 'The step got settings or inputs it cannot use.', action: 'Fix the step in the workflow editor, then run it again.' },
  runner_unavailable: { problem: 'Nothing here can run this step (for a model step: no provider is configured for its model).', action: 'Add the provider in Settings or change the step, then retry.' },
  runner_error: { problem: 'The step failed unexpectedly.', action: 'Retry; if it fails again, open the step to read the details.' },
  http_4xx: { problem: 'The server refused the request.', action: 'Check the address, headers and body of the step, then run it again.' },
  http_429: { problem: 'The server is limiting requests.', action: 'Wait a minute and retry.' },
  http_5xx: { problem: 'The server failed to answer (an error on its side).', action: 'Retry in a moment.' },
  approval_rejected: { problem: 'Someone rejected this step.', action: 'Read their comment, change what they asked for, and retry.' },
  approval_timeout: { problem: 'Nobody decided in time.', action: 'Retry to ask again.' },
  gate_failed: { problem: 'The step’s result did not pass its checks.', action: 'Fix what the checks name, then retry.' },
  template_error: { problem: 'A {{ }} expression in the workflow could not be filled in.', action: 'Fix it in the workflow editor, then run it again.' },
  expression_error: { problem: 'An expression in the workflow could not be evaluated.', action: 'Fix it in the workflow editor, then run it again.' },
  definition_invalid: { problem: 'The workflow definition is not valid.', action: 'Fix it in the workflow editor, then run it again.' },
  child_failed: { problem: 'The child workflow it started failed.', action: 'Open the child session to see why, then retry.' },
  child_cancelled: { problem: 'The child workflow it started was cancelled.', action: 'Retry to start it again.' },
  child_invalid: { problem: 'The child workflow could not be started (missing, or its inputs do not fit).', action: 'Check the child workflow and its inputs, then retry.' },
  cancelled: { problem: 'The session was cancelled.', action: 'Retry it if it should still run.' },
  policy_denied: { problem: 'The workspace policy does not allow this call, so it was not made.', action: 'Change the policy in Settings → Policies if this call is intended.' },
  '*': { problem: 'The step failed.', action: 'Open the step to read the details, then retry.' },
};

function wordsOf(type: string): Words {
  return STEP_WORDS[type] ?? STEP_WORDS['*']!;
}

/** "… within 3 turns" / "after 3 tries" → 3. */
function tries(message: string, details: unknown): number | undefined {
  const d = details !== null && typeof details === 'object' ? (details as Record<string, unknown>) : {};
  if (typeof d['attempts'] === 'number') return d['attempts'];
  if (typeof d['maxTurns'] === 'number') return d['maxTurns'];
  const m = /within (\d+) turn|after (\d+) (?:tries|attempts)|(\d+) (?:tries|attempts)/.exec(message);
  const n = m ? Number(m[1] ?? m[2] ?? m[3]) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

/** The provider's HTTP status when the message or details name one. */
function statusOf(message: string, details: unknown): number | undefined {
  const d = details !== null && typeof details === 'object' ? (details as Record<string, unknown>) : {};
  if (typeof d['status'] === 'number') return d['status'];
  const m = /answered (\d{3})\b/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** The problem part alone (no action): for places that add their own ("or open the run form instead"). */
export function stepProblem(e: StepFailure): string {
  const w = wordsOf(e.type);
  switch (e.type) {
    case 'invalid_output': {
      const n = tries(e.message, e.details);
      return n !== undefined ? `The model’s answers did not fit what Kingdom needed after ${n} ${n === 1 ? 'try' : 'tries'}.` : w.problem;
    }
    case 'bad_request':
      if (statusOf(e.message, e.details) === 404 || /model[_ ]not[_ ]found|not_found_error|unknown model|does not exist/i.test(e.message)) {
        return 'The provider does not know this model.';
      }
      return w.problem;
    case 'approval_rejected': {
      const m = /^Rejected by ([^:]+?)(?::\s*([\s\S]*))?$/.exec(e.message.trim());
      if (m) return `${m[1]} rejected this step${m[2] ? `: “${m[2].trim()}”` : ''}.`;
      return w.problem;
    }
    case 'policy_denied': {
      // The engine's message names the host or runner and the rule (worker/domains/policies/rules.ts).
      const m = /^(The workspace policy does not allow .+? \((?:denied by [^)]+|not in the allowed (?:hosts|runners))\)\.)/.exec(e.message);
      return m ? m[1]! : w.problem;
    }
    case 'gate_failed': {
      const said = e.message.trim().replace(/[.;]\s*$/, '');
      return said && isPlain(said) ? `${w.problem.replace(/\.$/, '')}: ${said}.` : w.problem;
    }
    default:
      return w.problem;
  }
}

/** One sentence: what went wrong in the step and what to do. */
export function stepSentence(e: StepFailure): string {
  const problem = stepProblem(e);
  const action = problem === 'The provider does not know this model.' ? 'Pick another model (Settings → LLM providers, or the step’s model), then run it again.' : wordsOf(e.type).action;
  return `${problem} ${action}`;
}

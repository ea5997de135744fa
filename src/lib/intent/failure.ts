/**
 * Why the command bar could not propose a run, in words, and where to go instead: the run form of
 * the workflow the request was about when that can be told (the model's last answer named it, or
 * the sentence names it), else the workflow list. Pure module.
 *
 * Invariant: every sentence ends with what to do, and offers the run form as the way around.
 */
import { stepProblem, stepSentence, type StepFailure } from '../words/step-words.ts';

export interface IntentFailure {
  /** What went wrong and what to do. */
  readonly sentence: string;
  /** For the details: the step error type, or the bar's own reason. */
  readonly code: string;
  /** For the details: the recorded message. */
  readonly detail?: string;
  /** The workflow whose run form to offer (null: the workflow list). */
  readonly workflow: string | null;
}

const INSTEAD = 'Try another model or rephrase — or open the run form instead.';

/** The intent session failed (or was cancelled). */
export function sessionFailure(error: StepFailure | null, status: string, guess: string | null): IntentFailure {
  if (error === null) {
    return { sentence: `The intent session was ${status === 'cancelled' ? 'cancelled' : 'stopped'} before it answered. Try again — or open the run form instead.`, code: status, workflow: guess };
  }
  const base = { code: error.type, detail: error.message, workflow: guess };
  if (error.type === 'invalid_output' || error.type === 'max_turns') return { ...base, sentence: `${stepProblem(error)} ${INSTEAD}` };
  return { ...base, sentence: `${stepSentence(error)} Or open the run form instead.` };
}

/** The model answered, but not with a workflow of the library (`problem` says how). */
export function answerFailure(problem: string, code: string, guess: string | null): IntentFailure {
  return { sentence: `${problem.replace(/\s+$/, '')} ${INSTEAD}`, code, workflow: guess };
}

const norm = (s: string): string => s.toLowerCase().replace(/[_-]+/g, ' ');

/**
 * The library workflow a request was about: one named by a JSON answer in `answers` (the model's
 * last text), else one whose name the sentence contains as words (the longest), else null.
 */
export function guessWorkflow(names: readonly string[], sentence: string, answers: readonly string[] = []): string | null {
  for (const text of answers) {
    const start = text.indexOf('{');
    const end = text.lastIndexOf('}');
    if (start < 0 || end <= start) continue;
    try {
      const v = JSON.parse(text.slice(start, end + 1)) as { workflow?: unknown };
      if (typeof v.workflow === 'string' && names.includes(v.workflow)) return v.workflow;
    } catch {
      // not JSON: try the sentence
    }
  }
  const said = ` ${norm(sentence).replace(/[^\p{L}\p{N} ]+/gu, ' ')} `;
  const found = [...names].sort((a, b) => b.length - a.length).find((n) => said.includes(` ${norm(n)} `));
  return found ?? null;
}

/**
 * Small tests and helpers for plain wording: whether a text is free of codes and paths, whether it
 * ends with something to do, and a sentence's capital and full stop. Pure functions.
 */

/** The verbs an action sentence starts with ("Check the key and try again."). */
export const ACTION_VERBS = [
  'Add', 'Allow', 'Ask', 'Change', 'Check', 'Choose', 'Close', 'Copy', 'Correct', 'Create', 'Edit', 'Enter', 'Export', 'Fill', 'Fix',
  'Free', 'Give', 'Go', 'Keep', 'Look', 'Make', 'Move', 'Name', 'Open', 'Pair', 'Pick', 'Raise', 'Read', 'Reload', 'Remove', 'Rename',
  'Rephrase', 'Retry', 'Run', 'Save', 'Select', 'Shorten', 'Start', 'Try', 'Turn', 'Type', 'Update', 'Use', 'Wait', 'Write',
] as const;

const VERBS = new Set<string>(ACTION_VERBS);

/** snake_case words (error codes, step error types). */
const SNAKE = /\b[a-z][a-z0-9]*_[a-z0-9_]+\b/;
/** Dotted identifiers: command types (`workspace.create`) and payload paths (`payload.name`). */
const DOTTED = /\b[a-z][A-Za-z0-9]+\.[a-z][A-Za-z0-9_]+\b/;
const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/\S+/gi;

/** True when `text` shows no snake_case code and no dotted path (addresses are allowed). */
export function isPlain(text: string): boolean {
  const t = text.replace(URL_RE, '');
  return !SNAKE.test(t) && !DOTTED.test(t) && !/\b(?:payload|params)\b/.test(t);
}

/** A capital first letter and a closing full stop. */
export function sentence(text: string): string {
  const t = text.trim();
  if (t === '') return t;
  const capital = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?…)]$/.test(capital) && !/[;,:]$/.test(capital) ? capital : `${capital.replace(/[;,:]$/, '')}.`;
}

/** The last sentence of `text`. */
export function lastSentence(text: string): string {
  const parts = text.trim().split(/(?<=[.!?])\s+(?=[A-Z“"(])/);
  return parts[parts.length - 1] ?? '';
}

/**
 * True when `text` ends with something to do: a clause of its last sentence (split at `;` and
 * ` — `, a leading "if …, " or "then" dropped) starts with an action verb.
 */
export function hasAction(text: string): boolean {
  return lastSentence(text).split(/;\s+|\s+—\s+/).some((clause) => {
    const c = clause.replace(/^(?:if [^,]*,\s*|then\s+|or\s+|and\s+)/i, '');
    const first = /^[A-Za-z]+/.exec(c)?.[0] ?? '';
    return first !== '' && VERBS.has(first[0]!.toUpperCase() + first.slice(1));
  });
}

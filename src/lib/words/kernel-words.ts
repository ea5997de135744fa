/**
 * Kernel errors in words a person understands: for every code of the kernel's registry
 * (worker/kernel/errors.ts, docs/errors.md) a plain problem and what to do about it, and for
 * `invalid_payload` / `invalid_query` / `invalid_inputs` / `invalid_workflow` a sentence built from
 * the field and the issue ("The name is empty. Type a name and try again."). Pure module: no
 * kernel, no DOM (also imported by scripts/gen-docs.ts for docs/errors.md).
 *
 * Invariants:
 * 1. `CODE_WORDS` covers every `ErrorCode` (the type makes a missing one a compile error); each
 *    `action` starts with a verb of `ACTION_VERBS`, so every sentence ends with what to do.
 * 2. A sentence never shows a snake_case code or a `payload.` / `params.` path: those stay in the
 *    details (the code, the command, the kernel's own message), one click away.
 * 3. The kernel's own message is used only when it is plain already (`isPlain`), with the code's
 *    action appended when it names none.
 */
import type { ErrorCode, Json } from '../../../worker/api.ts';
import { hasAction, isPlain, sentence } from './plain.ts';
import { issueSentence, type Issue } from './fields.ts';

export interface CodeWords {
  /** What went wrong, in plain words (one or two sentences). */
  readonly problem: string;
  /** What to do: an imperative sentence (starts with one of ACTION_VERBS). */
  readonly action: string;
}

export const CODE_WORDS: { readonly [C in ErrorCode]: CodeWords } = {
  invalid_command: { problem: 'The app sent a request the kernel could not read, so nothing changed.', action: 'Reload the page and try again; if it happens again, copy the details and report it.' },
  unknown_command: { problem: 'The page asked for an action the kernel does not know (the page and the kernel may be from different versions).', action: 'Reload the page so both come from the same version.' },
  forbidden: { problem: 'That action is reserved for Kingdom itself and cannot be asked for from here.', action: 'Use the buttons on the screen instead; if one of them led here, copy the details and report it.' },
  invalid_payload: { problem: 'Some of what was entered was not accepted, so nothing changed.', action: 'Check the fields and try again.' },
  idempotency_key_required: { problem: 'The request was sent without its safety key, so it was not applied.', action: 'Reload the page and try again.' },
  idempotency_key_reused: { problem: 'This action was already done once with other values, so doing it again was refused.', action: 'Reload the page to see what was saved, then try again.' },
  version_conflict: {
    problem: 'This was changed somewhere else (another tab or window) after you started, so nothing was saved. The list now shows the latest version.',
    action: 'Check it and try again.',
  },
  not_found: { problem: 'What this refers to does not exist here (any more): it may have been deleted or archived, or not have reached this device yet.', action: 'Reload the list and pick it again.' },
  already_exists: { problem: 'Something with this name already exists.', action: 'Choose another name and try again.' },
  archived: { problem: 'This is archived, so it cannot be changed.', action: 'Pick an active one, or create a new one.' },
  invalid_state: { problem: 'This cannot be done right now: its state has changed (for example the session already ended, or the step is no longer waiting).', action: 'Reload to see where it stands, then try again.' },
  imported_copy: { problem: 'This workspace is a read-only copy opened from a workspace file, so nothing in it can be changed.', action: 'Open one of your own workspaces to make changes, or ask the sender for what you need.' },
  invalid_file: { problem: 'This file is not a Kingdom workspace file (or it is damaged or too large), so nothing was opened.', action: 'Check that you picked the file that was exported, and ask the sender for it again if it is damaged.' },
  file_not_verified: { problem: 'The workspace file did not verify: something in it was changed, removed or added after it was exported, so it cannot be trusted and nothing was opened.', action: 'Ask the sender for a new export.' },
  invalid_workflow: { problem: 'The workflow has problems, so it was not saved or run.', action: 'Fix the lines the editor marks and try again.' },
  invalid_manifest: { problem: 'The manifest has problems, so it was not applied; the last good version stays active.', action: 'Fix the lines the editor marks and try again.' },
  realm_refused: { problem: "The realm's index did not pass the trust checks, so nothing was changed.", action: 'Try again later or ask the realm\'s owner; a security incident is shown under Realms.' },
  install_refused: { problem: 'The kata did not pass a check at install, so nothing was installed.', action: 'Read the reason in the details; ask the realm\'s owner or pick another version.' },
  has_dependents: { problem: 'Other manifests or workflows still depend on this one, so it was not removed.', action: 'Remove or change the ones that depend on it first (the details name them).' },
  invalid_inputs: { problem: 'Some inputs of the workflow are missing or of the wrong kind.', action: 'Correct them on the run form and start it again.' },
  unknown_query: { problem: 'This screen asked the kernel for something it does not know (the page and the kernel may be from different versions).', action: 'Reload the page.' },
  invalid_query: { problem: 'This screen asked with values the kernel does not accept.', action: 'Change the filters and try again.' },
  schema_too_new: { problem: 'Your data was saved by a newer version of Kingdom, which this version cannot read. Nothing was changed.', action: 'Open the newest version of the app (reload, or update the copy you serve).' },
  migration_failed: { problem: 'Updating your stored data to this version failed; the data was left as it was.', action: 'Reload the page to try again, and export your data from the Integrity page if it keeps failing.' },
  storage_unavailable: { problem: 'This browser gives Kingdom no lasting storage here (a private window, or site storage turned off).', action: 'Open Kingdom in a normal window or allow site storage, then reload.' },
  storage_full: { problem: 'Storage is full: the browser refused to store more data.', action: 'Free some space and try again.' },
  storage_locked: { problem: 'Another tab or window holds the database.', action: 'Close the other Kingdom tabs, or reload this one.' },
  kernel_closed: { problem: 'The kernel in this tab has stopped.', action: 'Reload the page to start it again.' },
  not_leader: { problem: 'The tab that owns the database did not answer.', action: 'Reload this page to take over.' },
  integrity_error: { problem: 'The stored log failed its integrity check.', action: 'Open the Integrity page to see what is broken and repair it.' },
  invalid_events: { problem: 'Data received from another device was malformed, so none of it was applied.', action: 'Update Kingdom on both devices, then let them sync again.' },
  chain_refused: { problem: "Changes from another device did not verify, so they were set aside and not applied.", action: 'Open the Integrity page to see which device sent them.' },
  read_only: {
    problem: 'Nothing was saved: this database failed its integrity check and is read-only until it is repaired. Nothing was deleted.',
    action: 'Export everything, then repair it on the Integrity page.',
  },
  sync_unavailable: { problem: 'Device sync does not run here.', action: 'Open Kingdom in a browser to sync your devices.' },
  upcast_failed: { problem: 'A stored change could not be read by this version of Kingdom.', action: 'Reload the page; if it happens again, copy the details and report it.' },
  internal: { problem: 'Something went wrong inside Kingdom (a bug), and nothing was changed.', action: 'Try again; if it happens again, copy the details and report it.' },
};

/** The plain sentence for a code alone: problem, then what to do. */
export function codeSentence(code: ErrorCode): string {
  const w = CODE_WORDS[code];
  return `${w.problem} ${w.action}`;
}

export interface KernelFailure {
  readonly code: string;
  readonly message: string;
  readonly details?: { readonly [key: string]: Json } | undefined;
}

const GENERIC: CodeWords = { problem: 'Something went wrong.', action: 'Try again; if it happens again, copy the details and report it.' };

function wordsOf(code: string): CodeWords {
  return Object.hasOwn(CODE_WORDS, code) ? CODE_WORDS[code as ErrorCode] : GENERIC;
}

function issuesOf(details: KernelFailure['details']): Issue[] {
  const raw = details?.['issues'];
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((x) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return [];
    const path = typeof x['path'] === 'string' ? x['path'] : '';
    const message = typeof x['message'] === 'string' ? x['message'] : '';
    const code = typeof x['code'] === 'string' ? x['code'] : '';
    const line = typeof x['line'] === 'number' ? x['line'] : undefined;
    return [{ path, message, code, ...(line !== undefined ? { line } : {}) }];
  });
}

/** `workspace.create: payload.name: …` → the command type, when the message starts with one. */
export function commandOf(message: string): string | undefined {
  return /^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+): /.exec(message)?.[1];
}

/**
 * The kernel's message without its `command: ` and `payload.field: ` prefixes, when what is left
 * is plain words; else null.
 */
export function plainKernelText(message: string): string | null {
  let t = message.trim();
  const cmd = commandOf(t);
  if (cmd) t = t.slice(cmd.length + 2);
  t = t.replace(/^(?:payload|params)(?:\.[\w[\]]+)*: /, '');
  return t !== '' && isPlain(t) ? sentence(t) : null;
}

/** One sentence for a kernel failure: what went wrong and what to do. `command` names the command or query, when known. */
export function kernelSentence(e: KernelFailure, command?: string): string {
  const words = wordsOf(e.code);
  const cmd = command ?? commandOf(e.message);
  const issues = issuesOf(e.details);
  switch (e.code) {
    case 'invalid_payload':
    case 'invalid_query':
      if (issues.length > 0) return issues.slice(0, 2).map((i) => issueSentence(i, cmd)).join(' ');
      break;
    case 'invalid_inputs':
      if (issues.length > 0) return issues.slice(0, 2).map(inputSentence).join(' ');
      break;
    case 'invalid_workflow':
    case 'invalid_manifest':
      if (issues.length > 0) return workflowSentence(issues);
      break;
    case 'version_conflict':
    case 'read_only':
    case 'storage_full':
    case 'not_leader':
    case 'internal':
    case 'invalid_command':
    case 'unknown_command':
    case 'unknown_query':
    case 'forbidden':
      return codeSentence(e.code);
    default:
      break;
  }
  const plain = plainKernelText(e.message);
  if (plain !== null && Object.hasOwn(CODE_WORDS, e.code)) return hasAction(plain) ? plain : `${plain} ${words.action}`;
  return `${words.problem} ${words.action}`;
}

function inputSentence(i: Issue): string {
  const name = /^inputs\.(.+)$/.exec(i.path)?.[1];
  const input = name ? `The input “${name}”` : 'The inputs';
  switch (i.code) {
    case 'missing_input':
      return `${input} is required. Fill it in and start again.`;
    case 'unknown_input':
      return `The workflow has no input${name ? ` “${name}”` : ' by that name'}. Remove it and start again.`;
    default: {
      const plain = isPlain(i.message) ? i.message.replace(/[.;]\s*$/, '') : null;
      return `${input} ${plain ? `is not accepted: ${plain}` : 'is not of the expected kind'}. Correct it and start again.`;
    }
  }
}

function workflowSentence(issues: readonly Issue[]): string {
  const first = issues[0]!;
  const where = first.line !== undefined ? ` on line ${first.line}` : '';
  const said = first.message.trim().replace(/[;,:]\s*$/, '');
  const what = isPlain(said) && said !== '' ? `: ${said}${/[.!?…]$/.test(said) ? '' : '.'}` : '.';
  return issues.length === 1
    ? `The workflow has a problem${where}${what} Fix it in the editor and try again.`
    : `The workflow has ${issues.length} problems; the first is${where}${what} Fix them in the editor and try again.`;
}

/**
 * Errors as the UI shows them: a plain sentence that says what went wrong and what to do
 * (`message`, worded by src/lib/words/), the `scope` (the action or screen area) they belong to, so
 * each appears next to what caused it, and the technical facts one click away (`code`, `command`,
 * the kernel's own `detail` and `details`), shown folded by ErrorMessage / ErrorNotice.
 *
 * Invariant: `message` never shows a snake_case code or a payload path; those are in the details.
 */
import type { KernelErrorData, RuntimeInfo } from '../../worker/api.ts';
import { CODE_WORDS, commandOf, kernelSentence } from './words/kernel-words.ts';

export interface UiError {
  readonly scope: string;
  readonly code: string;
  /** The sentence shown: what went wrong and what to do. */
  readonly message: string;
  /** The kernel's (or the exception's) own wording, shown under Details. */
  readonly detail?: string;
  /** The command, query or API call that failed (`workspace.create`), shown under Details. */
  readonly command?: string;
  /** The error's details as JSON text, shown under Details. */
  readonly details?: string;
  /** Where to go to do something about it (e.g. the Integrity page in recovery mode). */
  readonly link?: { readonly href: string; readonly label: string };
}

/** The Integrity page (recovery: export, repair); a literal so this module stays free of the router. */
export const INTEGRITY_HREF = '#/integrity';

/** The scope of errors that belong to no particular action (startup, unexpected exceptions). */
export const GLOBAL_SCOPE = 'global';

const INTEGRITY_LINK = { href: INTEGRITY_HREF, label: 'Open the Integrity page' } as const;

/** A `{ ok: false }` kernel result in words; `command` names what was asked (a command type, a query name, an API call). */
export function fromKernel(scope: string, e: KernelErrorData, command?: string): UiError {
  const what = command ?? commandOf(e.message);
  const details = e.details && Object.keys(e.details).length > 0 ? JSON.stringify(e.details, null, 2) : undefined;
  const link = e.code === 'read_only' || e.code === 'integrity_error' || e.code === 'chain_refused' ? INTEGRITY_LINK : undefined;
  return {
    scope,
    code: e.code,
    message: kernelSentence(e, what),
    detail: e.message,
    ...(what ? { command: what } : {}),
    ...(details ? { details } : {}),
    ...(link ? { link } : {}),
  };
}

/** Something that threw instead of returning a Result: a bug, or the worker went away. */
export function fromThrown(scope: string, err: unknown, command?: string): UiError {
  const w = CODE_WORDS.internal;
  return { scope, code: 'internal', message: `${w.problem} ${w.action}`, detail: describe(err), ...(command ? { command } : {}) };
}

/** An error that belongs to no kernel call (a worker message, an uncaught exception): `detail` is what was reported. */
export function unexpected(scope: string, detail: string): UiError {
  return { scope, code: 'unexpected', message: 'Something unexpected went wrong in this tab. Reload the page; if it happens again, copy the details and report it.', detail };
}

/** The kernel is not running in this tab (no worker). */
export function noKernel(scope: string, command?: string): UiError {
  const w = CODE_WORDS.kernel_closed;
  return { scope, code: 'kernel_closed', message: `${w.problem} ${w.action}`, detail: 'The kernel worker of this tab is not running.', ...(command ? { command } : {}) };
}

/** A failure the page itself found (no kernel involved): a plain sentence, with a code for the details. */
export function local(scope: string, code: string, message: string, detail?: string): UiError {
  return { scope, code, message, ...(detail ? { detail } : {}) };
}

/** The plain-data form of a KernelError (what crosses the worker boundary). */
export function isKernelErrorData(value: unknown): value is KernelErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v['name'] === 'KernelError' && typeof v['code'] === 'string' && typeof v['message'] === 'string';
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}

/**
 * A kernel that could not start may say why in `info()` (`startupError`, proposed in the UI's
 * report; today a failed start leaves `info()` unanswered and the boot screen says so).
 */
export function startupError(info: RuntimeInfo): KernelErrorData | null {
  const e = (info as RuntimeInfo & { startupError?: unknown }).startupError;
  return isKernelErrorData(e) ? e : null;
}

/** What the "could not start" screen says for a startup error: the sentence, then the code and message. */
export function startupText(e: KernelErrorData): string {
  return `${kernelSentence(e)} (${e.code}: ${e.message})`;
}

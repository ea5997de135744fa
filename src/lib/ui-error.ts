/**
 * Errors as the UI shows them: a stable `code`, a readable `message`, and the `scope` (the action
 * or screen area) they belong to, so each appears next to what caused it.
 */
import type { KernelErrorData, RuntimeInfo } from '../../worker/api.ts';

export interface UiError {
  readonly scope: string;
  readonly code: string;
  readonly message: string;
  /** The kernel's own wording, when `message` rephrases it. */
  readonly detail?: string;
  /** Where to go to do something about it (e.g. the Integrity page in recovery mode). */
  readonly link?: { readonly href: string; readonly label: string };
}

/** The Integrity page (recovery: export, repair); a literal so this module stays free of the router. */
export const INTEGRITY_HREF = '#/integrity';

/** The scope of errors that belong to no particular action (startup, unexpected exceptions). */
export const GLOBAL_SCOPE = 'global';

/** A `{ ok: false }` kernel result, with a plainer explanation where the kernel's is technical. */
export function fromKernel(scope: string, e: KernelErrorData): UiError {
  switch (e.code) {
    case 'version_conflict':
      return {
        scope,
        code: e.code,
        message: 'This was changed somewhere else (another tab or window) after you started, so nothing was saved. The list now shows the latest version: check it and try again.',
        detail: e.message,
      };
    case 'storage_full':
      return { scope, code: e.code, message: 'Storage is full: the browser refused to store more data. Free some space and try again.', detail: e.message };
    case 'read_only':
      return {
        scope,
        code: e.code,
        message: 'Nothing was saved: this database failed its integrity check and is read-only until it is repaired. Nothing was deleted. Export everything, then repair it on the Integrity page.',
        detail: e.message,
        link: { href: INTEGRITY_HREF, label: 'Open the Integrity page' },
      };
    case 'not_leader':
      return { scope, code: e.code, message: 'The tab that owns the database did not answer. Reload this page to take over.', detail: e.message };
    default:
      return { scope, code: e.code, message: e.message };
  }
}

/** Something that threw instead of returning a Result: a bug, or the worker went away. */
export function fromThrown(scope: string, err: unknown): UiError {
  return { scope, code: 'internal', message: `Unexpected error: ${describe(err)}` };
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

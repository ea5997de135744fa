/**
 * The kernel's one error type and its code catalogue.
 *
 * Invariants:
 * 1. Every error the kernel reports on purpose is a `KernelError` whose `code` is a member of
 *    `ERROR_CODES`; anything else escaping the kernel is a bug.
 * 2. `details` is plain JSON, so an error survives `structuredClone`, Comlink and BroadcastChannel.
 * 3. The catalogue is mirrored in docs/errors.md (a unit test keeps them in step).
 */

export const ERROR_CODES = {
  invalid_command: 'The command envelope is malformed (type, payload, idempotencyKey, expectedVersion).',
  unknown_command: 'No command with this type is registered.',
  forbidden: 'The command or query is reserved for the kernel itself and cannot be sent through the API.',
  invalid_payload: 'The payload does not match the command schema (missing, wrong type or unknown field).',
  idempotency_key_required: 'A state-changing command was sent without an idempotency key.',
  idempotency_key_reused: 'The idempotency key was already used for a different command or payload.',
  version_conflict: 'The stream has moved past the expectedVersion the command was decided against.',
  not_found: 'The entity the command or query names does not exist.',
  already_exists: 'An entity with this id or name already exists.',
  archived: 'The entity is archived and cannot be changed.',
  invalid_state: 'The entity is not in a state that allows this command (e.g. approving a step that is not waiting).',
  invalid_workflow: 'The workflow definition does not parse or validate; details.issues lists each problem with line and column.',
  invalid_manifest: 'The manifest does not parse or validate; details.issues lists each problem with line and column. Nothing was applied (the last good version stays active).',
  has_dependents: 'Other manifests or workflows depend on this one (details.dependents names them); remove or change those first.',
  realm_refused: "A realm's index did not pass the trust checks (details.code: rollback, expired, repointed, …); nothing was changed.",
  install_refused: 'A kata pack failed a check at install (details.code: tampered, undeclared_hosts, incompatible, missing_skill, …); nothing was installed.',
  invalid_inputs: 'The inputs do not match the workflow inputs schema; details.issues lists each problem.',
  unknown_query: 'No query with this name is registered.',
  invalid_query: 'The query parameters do not match the query schema.',
  schema_too_new: 'The database was written by a newer version of Kingdom; this version refuses to open it.',
  migration_failed: 'A schema migration failed; the database was left at its previous version.',
  storage_unavailable: 'Persistent storage (OPFS) is not available; the kernel cannot open a durable database.',
  storage_full: 'The browser refused to store more data (quota exceeded).',
  storage_locked: 'Another tab or process holds the database.',
  kernel_closed: 'The kernel was closed; open it again to continue.',
  not_leader: 'This tab does not own the database and no owner answered in time.',
  integrity_error: 'The log failed verification (hash chain, audit chain or checkpoint signature).',
  invalid_events: 'Events offered to ingest are malformed (not a list of well-formed envelopes); nothing was applied.',
  chain_refused: "Another device's chain did not verify (forged, reordered, truncated or rewritten); it was quarantined and not applied.",
  read_only: 'The database failed its integrity check at open and is in recovery mode: verify, export and repair work, changes do not.',
  sync_unavailable: 'Device sync does not run in this host (no sync service was started).',
  upcast_failed: 'An event could not be lifted to the current schema version.',
  imported_copy: 'The workspace (or what the command targets in it) is a read-only copy imported from a workspace file: nothing in it can be changed.',
  invalid_file: 'The file offered as a workspace file is not one: too large, not JSON, another format or version, or malformed (details.reason); nothing was written.',
  file_not_verified: 'The workspace file did not verify (signature, an event changed, missing, added, reordered or repeated, an event that cannot belong to the workspace); details name the first broken item; nothing was written.',
  internal: 'An unexpected internal failure (a bug); the transaction was rolled back.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Plain-data form of a KernelError: what crosses the worker boundary. */
export interface KernelErrorData {
  readonly name: 'KernelError';
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: { [key: string]: Json };
}

export class KernelError extends Error {
  override readonly name = 'KernelError' as const;
  readonly code: ErrorCode;
  readonly details: { [key: string]: Json };

  constructor(code: ErrorCode, message: string, details: { [key: string]: Json } = {}) {
    super(message);
    this.code = code;
    this.details = toPlainJson(details) as { [key: string]: Json };
  }

  toJSON(): KernelErrorData {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }

  /** Rebuild a KernelError from its plain-data form (after crossing a worker boundary). */
  static fromData(data: KernelErrorData): KernelError {
    return new KernelError(data.code, data.message, data.details);
  }

  /** Wrap anything thrown into a KernelError; unknown throwables become `internal`. */
  static from(err: unknown): KernelError {
    if (err instanceof KernelError) return err;
    if (isKernelErrorData(err)) return KernelError.fromData(err);
    const message = err instanceof Error ? err.message : String(err);
    if (/SQLITE_FULL|quota|QuotaExceeded/i.test(message)) {
      return new KernelError('storage_full', `Storage is full: ${message}. Free space or delete old data.`);
    }
    return new KernelError('internal', `Internal error: ${message}`, {
      stack: err instanceof Error && err.stack ? err.stack.split('\n').slice(0, 8).join('\n') : null,
    });
  }
}

export function isKernelErrorData(value: unknown): value is KernelErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return v['name'] === 'KernelError' && typeof v['code'] === 'string' && v['code'] in ERROR_CODES &&
    typeof v['message'] === 'string';
}

/** Result type used at every boundary: only bugs throw. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: KernelErrorData };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(err: unknown): { ok: false; error: KernelErrorData } {
  return { ok: false, error: KernelError.from(err).toJSON() };
}

function toPlainJson(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toPlainJson(v);
    return out;
  }
  return String(value);
}

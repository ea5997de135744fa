/**
 * Error plumbing of the `kingdom-nodefs` VFS (node-file-vfs.ts): the shape of the last recorded
 * failure, reading Node's error fields, and mapping an fs error onto the SQLite result code the
 * VFS hands back to C (ENOSPC/EDQUOT → SQLITE_FULL, ENOMEM → SQLITE_IOERR_NOMEM, else the
 * operation's own SQLITE_IOERR_* code).
 */
import type { Sqlite3Static } from '@sqlite.org/sqlite-wasm';

/** Last failure recorded by the VFS (invariant 1). */
export interface NodeFileVfsError {
  readonly op: string;
  readonly message: string;
  /** The SQLite result code the VFS returned for it. */
  readonly sqliteCode: number;
  /** `err.code` of the underlying Node error (e.g. 'ENOSPC'), when there was one. */
  readonly errno?: string;
  /** The OS errno (positive), when there was one: what xGetLastError reports to SQLite. */
  readonly osErrno?: number;
  /** For SQLITE_BUSY on open: the pid holding `<db>.lock`. */
  readonly lockHolderPid?: number;
}

export function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function osErrnoOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'errno' in err) {
    const n = (err as { errno: unknown }).errno;
    // Node reports libuv errnos as negative numbers (-28 for ENOSPC).
    return typeof n === 'number' && n !== 0 ? Math.abs(n) : undefined;
  }
  return undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The SQLite code for `err` in an operation whose generic failure code is `ioerr`. */
export function sqliteCodeFor(capi: Sqlite3Static['capi'], err: unknown, ioerr: number): number {
  const errno = errnoOf(err);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return capi.SQLITE_FULL;
  if (errno === 'ENOMEM') return capi.SQLITE_IOERR_NOMEM;
  return ioerr;
}

/** The record `takeNodeFileVfsError()` returns for a failure of `op` on VFS `vfsName`. */
export function describeVfsError(
  vfsName: string,
  op: string,
  err: unknown,
  sqliteCode: number,
  path: string | undefined,
  lockHolderPid: number | undefined,
): NodeFileVfsError {
  const errno = errnoOf(err);
  const osErrno = osErrnoOf(err);
  return {
    op,
    message: `${vfsName}: ${op}${path ? ` ${path}` : ''}: ${messageOf(err)}`,
    sqliteCode,
    ...(errno !== undefined ? { errno } : {}),
    ...(osErrno !== undefined ? { osErrno } : {}),
    ...(lockHolderPid !== undefined ? { lockHolderPid } : {}),
  };
}

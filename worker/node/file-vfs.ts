/**
 * A durable, file-backed SQLite VFS for Node, written against sqlite-wasm's JS VFS API.
 *
 * sqlite-wasm's Node build only has Emscripten's in-memory file system; this module owns the
 * `kingdom-nodefs` VFS that maps SQLite's file operations onto real files with synchronous
 * `node:fs` calls, so the kernel can run headless on a file that survives `kill -9`.
 *
 * Invariants:
 * 1. No VFS or I/O method ever throws into C: every callback catches, records the error for
 *    xGetLastError / `takeNodeFileVfsError()`, and returns an SQLite result code (ENOSPC/EDQUOT
 *    map to SQLITE_FULL, everything else to the operation's SQLITE_IOERR_* code).
 * 2. xSync is a real `fsync(2)` of the file. Creating a file (db, journal, WAL) and deleting one
 *    also fsyncs the parent directory, so the directory entry is as durable as the data.
 * 3. xRead fills the whole buffer: bytes past end-of-file are zeroed and the call returns
 *    SQLITE_IOERR_SHORT_READ, as SQLite requires.
 * 4. At most one open of a main database file exists at a time across processes: xOpen of a main
 *    db first creates `<db>.lock` exclusively (`wx`) holding the owner's pid. A lock whose pid is
 *    alive (including another handle in this process) makes the open fail with SQLITE_BUSY; a
 *    lock whose pid is dead (crash) is reclaimed. xClose of that main db removes the lock file.
 * 5. xLock/xUnlock only track the level: invariant 4 already excludes other processes. The
 *    io-methods struct is version 1 (no xShmMap), so SQLite accepts WAL only under
 *    `PRAGMA locking_mode=EXCLUSIVE`, where the wal-index lives in heap memory. Callers must set
 *    that pragma before `journal_mode=WAL` (see adapter.ts, DURABLE_PRAGMAS).
 * 6. Temp files (NULL name or SQLITE_OPEN_DELETEONCLOSE) live in `os.tmpdir()` under a random
 *    name and never outlive their handle (unlinked right after open on POSIX, on close elsewhere).
 * 7. Installation is idempotent per sqlite3 instance and name; a name already taken by a VFS this
 *    module did not install is an error.
 *
 * This module owns the VFS itself (xOpen, xDelete, xAccess, …) and its installation. The
 * per-file io-methods live in node-file-io.ts, the `<db>.lock` handling (invariant 4) in
 * node-file-lock.ts and the error record / errno mapping (invariant 1) in node-file-errors.ts;
 * their public names are re-exported from here.
 *
 * Known limits: the lock is advisory (a process that ignores `<db>.lock` is not stopped); pid
 * liveness is checked on this host only; two processes reclaiming the same stale lock in the same
 * instant can race. On macOS `fsync` is not `F_FULLFSYNC` (Node exposes no way to ask for it).
 */
import {
  closeSync,
  constants as fsConstants,
  fsyncSync,
  openSync,
  statSync,
  accessSync,
  unlinkSync,
} from 'node:fs';
import { randomBytes, randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Sqlite3Static, sqlite3_vfs } from '@sqlite.org/sqlite-wasm';
import { describeVfsError, errnoOf, sqliteCodeFor, type NodeFileVfsError } from './file-errors.ts';
import { createNodeFileIo, type OpenFile } from './file-io.ts';
import { acquireLock, canonicalPath, LockHeldError, releaseLock } from './file-lock.ts';

// The lock file and error record live in sibling modules; this one stays their public entry point.
export type { NodeFileVfsError } from './file-errors.ts';
export { isNodeFileLockHeld, LOCK_SUFFIX, nodeFileLockHolder } from './file-lock.ts';

export const NODE_FILE_VFS_NAME = 'kingdom-nodefs';

const MAX_PATHNAME = 1024;
const IS_WINDOWS = process.platform === 'win32';

/** Per-installation state, keyed by VFS name within one sqlite3 instance. */
interface VfsState {
  lastError: NodeFileVfsError | null;
}

/**
 * The installVfs() typings narrow every method's return to the `Sqlite3Result` literal union, but
 * xRandomness and xSleep legitimately return byte / microsecond counts, and `j` (int64) arguments
 * arrive as BigInt. We type our methods honestly and cast once at the installVfs() boundary.
 */
type InstallVfsArg = Parameters<Sqlite3Static['vfs']['installVfs']>[0];
type IoMethodsArg = NonNullable<InstallVfsArg['io']>['methods'];
type VfsMethodsArg = NonNullable<InstallVfsArg['vfs']>['methods'];

/** Installed VFS names per sqlite3 instance (invariant 7). */
const installed = new WeakMap<Sqlite3Static, Map<string, VfsState>>();

/** fsync a directory so a created/deleted entry in it is durable (invariant 2). */
function fsyncDir(dir: string): void {
  if (IS_WINDOWS) return; // Directories cannot be opened for fsync on Windows.
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'EACCES' || code === 'EPERM') return; // Cannot open it; nothing more we can do.
    throw err;
  }
  try {
    fsyncSync(fd);
  } catch (err) {
    const code = errnoOf(err);
    // Some file systems do not support fsync on directories; that is not a data error.
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * Return and clear the last error the VFS recorded for this sqlite3 instance. SQLite itself only
 * asks xGetLastError for an errno, so this is how callers get the message behind an IOERR.
 */
export function takeNodeFileVfsError(
  sqlite3: Sqlite3Static,
  name: string = NODE_FILE_VFS_NAME,
): NodeFileVfsError | null {
  const state = installed.get(sqlite3)?.get(name);
  if (!state) return null;
  const err = state.lastError;
  state.lastError = null;
  return err;
}

/**
 * Register the VFS `name` on this sqlite3 instance (idempotent) and return its name, for use as
 * `new sqlite3.oo1.DB({ filename, flags: 'c', vfs: name })`.
 */
export function installNodeFileVfs(sqlite3: Sqlite3Static, name: string = NODE_FILE_VFS_NAME): string {
  let byName = installed.get(sqlite3);
  if (byName?.has(name)) return name;
  const { capi, wasm } = sqlite3;
  if (capi.sqlite3_vfs_find(name)) {
    throw new Error(`installNodeFileVfs: a different VFS is already registered as "${name}"`);
  }

  const state: VfsState = { lastError: null };
  const files = new Map<number, OpenFile>();
  const sleepCell = new Int32Array(new SharedArrayBuffer(4));
  const utf8 = new TextEncoder();

  /** Record a failure (invariant 1) and return the SQLite code to hand back to C. */
  const fail = (op: string, err: unknown, ioerr: number, path?: string): number => {
    const code = sqliteCodeFor(capi, err, ioerr);
    const lockHolderPid = err instanceof LockHeldError && err.holderPid !== null ? err.holderPid : undefined;
    state.lastError = describeVfsError(name, op, err, code, path, lockHolderPid);
    return code;
  };

  const writeCString = (pOut: number, nOut: number, text: string): boolean => {
    const bytes = utf8.encode(text);
    if (bytes.length + 1 > nOut) return false;
    const heap = wasm.heap8u();
    const p = Number(pOut);
    heap.set(bytes, p);
    heap[p + bytes.length] = 0;
    return true;
  };

  const { io, ioMethods } = createNodeFileIo(sqlite3, files, fail);

  const vfs = new capi.sqlite3_vfs();
  vfs.$iVersion = 2; // Has xCurrentTimeInt64; no xSetSystemCall & co.
  // The typings put `structInfo` on instances; at runtime it is (also) a static of the class.
  vfs.$szOsFile = (capi.sqlite3_file as unknown as { structInfo: { sizeof: number } }).structInfo.sizeof;
  vfs.$mxPathname = MAX_PATHNAME;

  const vfsMethods = {
    xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
      // SQLite requires pMethods to be NULL when xOpen fails.
      wasm.pokePtr(pFile, 0);
      const isTemp = !zName || (flags & capi.SQLITE_OPEN_DELETEONCLOSE) !== 0;
      const isMainDb = (flags & capi.SQLITE_OPEN_MAIN_DB) !== 0 && !isTemp;
      let path = zName ? (wasm.cstrToJs(zName) ?? '') : '';
      if (!path) path = join(tmpdir(), `kingdom-sqlite-${randomBytes(8).toString('hex')}.tmp`);
      let lockTaken = false;
      try {
        if (isMainDb) {
          acquireLock(path);
          lockTaken = true;
        }
        const create = (flags & capi.SQLITE_OPEN_CREATE) !== 0 || isTemp;
        const readOnly = (flags & capi.SQLITE_OPEN_READONLY) !== 0;
        let fd: number;
        let created = false;
        let outFlags = flags;
        if (readOnly) {
          fd = openSync(path, fsConstants.O_RDONLY);
        } else if ((flags & capi.SQLITE_OPEN_EXCLUSIVE) !== 0 || isTemp) {
          fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
          created = true;
        } else if (create) {
          try {
            fd = openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o644);
            created = true;
          } catch (err) {
            if (errnoOf(err) !== 'EEXIST') throw err;
            fd = openSync(path, fsConstants.O_RDWR);
          }
        } else {
          try {
            fd = openSync(path, fsConstants.O_RDWR);
          } catch (err) {
            const code = errnoOf(err);
            if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') throw err;
            // Like os_unix.c: fall back to read-only and tell SQLite.
            fd = openSync(path, fsConstants.O_RDONLY);
            outFlags = (flags & ~capi.SQLITE_OPEN_READWRITE) | capi.SQLITE_OPEN_READONLY;
          }
        }
        let unlinkOnClose = false;
        if (isTemp) {
          if (IS_WINDOWS) unlinkOnClose = true;
          else unlinkSync(path); // Invariant 6: gone even if we crash; the fd stays usable.
        } else if (created) {
          try {
            fsyncDir(dirname(path)); // Invariant 2: the new directory entry is durable.
          } catch (err) {
            closeSync(fd);
            throw err;
          }
        }
        files.set(Number(pFile), {
          path,
          fd,
          flags: outFlags,
          isMainDb,
          unlinkOnClose,
          lockLevel: capi.SQLITE_LOCK_NONE,
        });
        wasm.pokePtr(pFile, io.pointer);
        if (pOutFlags) wasm.poke32(pOutFlags, outFlags);
        return 0;
      } catch (err) {
        if (lockTaken) {
          try {
            releaseLock(path);
          } catch {
            // The open already failed; the lock is stale at worst and reclaimed by pid next time.
          }
        }
        if (err instanceof LockHeldError) return fail('open', err, capi.SQLITE_BUSY, path);
        const code = errnoOf(err) === 'EISDIR' ? capi.SQLITE_CANTOPEN_ISDIR : capi.SQLITE_CANTOPEN;
        return fail('open', err, code, path);
      }
    },

    xDelete(_pVfs: number, zName: number, _syncDir: number): number {
      const path = wasm.cstrToJs(zName) ?? '';
      try {
        unlinkSync(path);
      } catch (err) {
        if (errnoOf(err) === 'ENOENT') return fail('delete', err, capi.SQLITE_IOERR_DELETE_NOENT, path);
        return fail('delete', err, capi.SQLITE_IOERR_DELETE, path);
      }
      try {
        fsyncDir(dirname(path)); // Invariant 2, regardless of syncDir: deletes are rare.
        return 0;
      } catch (err) {
        return fail('delete/fsync-dir', err, capi.SQLITE_IOERR_DIR_FSYNC, path);
      }
    },

    xAccess(_pVfs: number, zName: number, flags: number, pOut: number): number {
      const path = wasm.cstrToJs(zName) ?? '';
      try {
        let ok: boolean;
        if (flags === capi.SQLITE_ACCESS_EXISTS) {
          // Like os_unix.c: an empty regular file counts as absent (e.g. a truncated WAL).
          try {
            const st = statSync(path);
            ok = !st.isFile() || st.size > 0;
          } catch (err) {
            if (errnoOf(err) !== 'ENOENT' && errnoOf(err) !== 'ENOTDIR') throw err;
            ok = false;
          }
        } else {
          const mode = flags === capi.SQLITE_ACCESS_READWRITE ? fsConstants.R_OK | fsConstants.W_OK : fsConstants.R_OK;
          try {
            accessSync(path, mode);
            ok = true;
          } catch {
            ok = false;
          }
        }
        wasm.poke32(pOut, ok ? 1 : 0);
        return 0;
      } catch (err) {
        wasm.poke32(pOut, 0);
        return fail('access', err, capi.SQLITE_IOERR_ACCESS, path);
      }
    },

    xFullPathname(_pVfs: number, zName: number, nOut: number, pOut: number): number {
      const name = wasm.cstrToJs(zName) ?? '';
      try {
        const full = canonicalPath(name);
        if (!writeCString(pOut, nOut, full)) {
          return fail('fullpathname', new Error(`path longer than ${nOut - 1} bytes`), capi.SQLITE_CANTOPEN_FULLPATH, full);
        }
        return 0;
      } catch (err) {
        return fail('fullpathname', err, capi.SQLITE_CANTOPEN_FULLPATH, name);
      }
    },

    xRandomness(_pVfs: number, nOut: number, pOut: number): number {
      randomFillSync(wasm.heap8u(), Number(pOut), nOut);
      return nOut;
    },

    xSleep(_pVfs: number, micros: number): number {
      const ms = Math.max(0, Math.ceil(micros / 1000));
      if (ms > 0) Atomics.wait(sleepCell, 0, 0, ms);
      return micros;
    },

    xCurrentTime(_pVfs: number, pOut: number): number {
      wasm.poke64f(pOut, 2440587.5 + Date.now() / 86_400_000); // Julian day number.
      return 0;
    },

    xCurrentTimeInt64(_pVfs: number, pOut: number): number {
      // Milliseconds since the Julian epoch: 210866760000000 ms from it to the Unix epoch.
      wasm.poke64(pOut, 210_866_760_000_000n + BigInt(Date.now()));
      return 0;
    },

    xGetLastError(_pVfs: number, nBuf: number, zBuf: number): number {
      const e = state.lastError;
      if (e && nBuf > 0 && zBuf) {
        const bytes = utf8.encode(e.message).subarray(0, nBuf - 1);
        const heap = wasm.heap8u();
        heap.set(bytes, Number(zBuf));
        heap[Number(zBuf) + bytes.length] = 0;
      }
      // SQLite stores the return value as the "system errno" (sqlite3_system_errno()), like
      // os_unix.c does with errno. Without an OS error we fall back to the SQLite code.
      return e ? (e.osErrno ?? e.sqliteCode) : 0;
    },
  };

  sqlite3.vfs.installVfs({
    io: { struct: io, methods: ioMethods as unknown as IoMethodsArg },
    vfs: { struct: vfs as sqlite3_vfs, methods: vfsMethods as unknown as VfsMethodsArg, name },
  });

  if (!byName) {
    byName = new Map();
    installed.set(sqlite3, byName);
  }
  byName.set(name, state);
  return name;
}

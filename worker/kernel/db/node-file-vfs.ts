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
 * Known limits: the lock is advisory (a process that ignores `<db>.lock` is not stopped); pid
 * liveness is checked on this host only; two processes reclaiming the same stale lock in the same
 * instant can race. On macOS `fsync` is not `F_FULLFSYNC` (Node exposes no way to ask for it).
 */
import {
  closeSync,
  constants as fsConstants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  realpathSync,
  statSync,
  accessSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes, randomFillSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Sqlite3Static, sqlite3_io_methods, sqlite3_vfs } from '@sqlite.org/sqlite-wasm';

export const NODE_FILE_VFS_NAME = 'kingdom-nodefs';

/** Suffix of the advisory lock file that sits next to every open main database. */
export const LOCK_SUFFIX = '.lock';

/** A lock file with unreadable content younger than this is treated as being written right now. */
const UNREADABLE_LOCK_GRACE_MS = 5_000;

const SECTOR_SIZE = 4096;
const MAX_PATHNAME = 1024;
const IS_WINDOWS = process.platform === 'win32';

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

/** Per-file state; SQLite's sqlite3_file only carries the methods pointer (szOsFile = 4). */
interface OpenFile {
  readonly path: string;
  readonly fd: number;
  readonly flags: number;
  readonly isMainDb: boolean;
  /** Delete `path` in xClose (temp files on platforms that cannot unlink open files). */
  readonly unlinkOnClose: boolean;
  lockLevel: number;
}

/** Per-installation state, keyed by VFS name within one sqlite3 instance. */
interface VfsState {
  lastError: NodeFileVfsError | null;
}

/**
 * The typings declare io_methods' version as `iVersion`, but StructBinder exposes every member
 * with a `$` prefix at runtime (the sahpool VFS sets `$iVersion` too).
 */
type IoMethodsStruct = sqlite3_io_methods & { $iVersion: number };

/**
 * The installVfs() typings narrow every method's return to the `Sqlite3Result` literal union, but
 * xRandomness and xSleep legitimately return byte / microsecond counts, and `j` (int64) arguments
 * arrive as BigInt. We type our methods honestly and cast once at the installVfs() boundary.
 */
type InstallVfsArg = Parameters<Sqlite3Static['vfs']['installVfs']>[0];
type IoMethodsArg = NonNullable<InstallVfsArg['io']>['methods'];
type VfsMethodsArg = NonNullable<InstallVfsArg['vfs']>['methods'];
type I64 = number | bigint;

/** Locks this process holds: absolute db path → lock file path. Shared by all sqlite3 instances. */
const heldLocks = new Map<string, string>();

/** Installed VFS names per sqlite3 instance (invariant 7). */
const installed = new WeakMap<Sqlite3Static, Map<string, VfsState>>();

/** Thrown inside xOpen when `<db>.lock` is held by a live process. */
class LockHeldError extends Error {
  constructor(readonly lockPath: string, readonly holderPid: number | null) {
    super(
      holderPid === null
        ? `database is locked: ${lockPath} is being created by another process`
        : `database is locked: ${lockPath} is held by live process ${holderPid}` +
            (holderPid === process.pid ? ' (this process: another handle is open)' : ''),
    );
    this.name = 'LockHeldError';
  }
}

function errnoOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

function osErrnoOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'errno' in err) {
    const n = (err as { errno: unknown }).errno;
    // Node reports libuv errnos as negative numbers (-28 for ENOSPC).
    return typeof n === 'number' && n !== 0 ? Math.abs(n) : undefined;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errnoOf(err) === 'EPERM';
  }
}

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

function readLockPid(lockPath: string): number | null {
  const text = readFileSync(lockPath, 'utf8').trim();
  if (!/^\d+$/.test(text)) return null;
  const pid = Number(text);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Take `<db>.lock` for `dbPath` (invariant 4). Throws LockHeldError when a live process holds it,
 * or the fs error when the lock file cannot be created at all.
 */
function acquireLock(dbPath: string): string {
  const lockPath = dbPath + LOCK_SUFFIX;
  if (heldLocks.has(dbPath)) throw new LockHeldError(lockPath, process.pid);
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o644);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      let holder: number | null;
      try {
        holder = readLockPid(lockPath);
      } catch (readErr) {
        if (errnoOf(readErr) === 'ENOENT') continue; // Released between open and read: retry.
        throw readErr;
      }
      if (holder === null) {
        // Empty/garbled: either a creator is between open and write, or it crashed there.
        let ageMs: number;
        try {
          ageMs = Date.now() - statSync(lockPath).mtimeMs;
        } catch (statErr) {
          if (errnoOf(statErr) === 'ENOENT') continue;
          throw statErr;
        }
        if (ageMs < UNREADABLE_LOCK_GRACE_MS) throw new LockHeldError(lockPath, null);
      } else if (holder === process.pid) {
        // Our own pid but not in heldLocks: a previous incarnation with the same pid (containers
        // restart as pid 1) crashed holding it. Stale.
      } else if (isPidAlive(holder)) {
        throw new LockHeldError(lockPath, holder);
      }
      try {
        unlinkSync(lockPath); // Stale: its owner is gone. Reclaim.
      } catch (unlinkErr) {
        if (errnoOf(unlinkErr) !== 'ENOENT') throw unlinkErr;
      }
      continue;
    }
    try {
      const bytes = Buffer.from(`${process.pid}\n`, 'utf8');
      writeSync(fd, bytes, 0, bytes.length, 0);
    } finally {
      closeSync(fd);
    }
    heldLocks.set(dbPath, lockPath);
    return lockPath;
  }
  throw new LockHeldError(lockPath, null);
}

function releaseLock(dbPath: string): void {
  const lockPath = heldLocks.get(dbPath);
  if (lockPath === undefined) return;
  heldLocks.delete(dbPath);
  try {
    // Only remove it if it is still ours (nobody reclaimed it from under us).
    if (readLockPid(lockPath) === process.pid) unlinkSync(lockPath);
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
  }
}

/** The pid recorded in `<dbPath>.lock`, or null when there is no (readable) lock file. */
export function nodeFileLockHolder(dbPath: string): number | null {
  try {
    return readLockPid(canonicalPath(dbPath) + LOCK_SUFFIX);
  } catch {
    return null;
  }
}

/** True while this process holds the lock of `dbPath` (an open main-db handle exists). */
export function isNodeFileLockHeld(dbPath: string): boolean {
  return heldLocks.has(canonicalPath(dbPath));
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

/** Absolute path with symlinks in the directory part resolved (the file itself may not exist). */
function canonicalPath(p: string): string {
  const abs = resolve(p);
  try {
    return join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
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
    const errno = errnoOf(err);
    let code = ioerr;
    if (errno === 'ENOSPC' || errno === 'EDQUOT') code = capi.SQLITE_FULL;
    else if (errno === 'ENOMEM') code = capi.SQLITE_IOERR_NOMEM;
    const osErrno = osErrnoOf(err);
    const lockHolderPid = err instanceof LockHeldError && err.holderPid !== null ? err.holderPid : undefined;
    state.lastError = {
      op,
      message: `${name}: ${op}${path ? ` ${path}` : ''}: ${messageOf(err)}`,
      sqliteCode: code,
      ...(errno !== undefined ? { errno } : {}),
      ...(osErrno !== undefined ? { osErrno } : {}),
      ...(lockHolderPid !== undefined ? { lockHolderPid } : {}),
    };
    return code;
  };

  const heapSlice = (ptr: number, n: number): Uint8Array => {
    const p = Number(ptr);
    return wasm.heap8u().subarray(p, p + n);
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

  const fileOf = (pFile: number): OpenFile => {
    const f = files.get(Number(pFile));
    if (!f) throw new Error(`unknown sqlite3_file pointer ${pFile}`);
    return f;
  };

  const io = new capi.sqlite3_io_methods() as IoMethodsStruct;
  // Version 1: no xShmMap & co. SQLite then allows WAL only in EXCLUSIVE locking mode and keeps
  // the wal-index in heap memory (invariant 5).
  io.$iVersion = 1;

  const ioMethods = {
    xClose(pFile: number): number {
      const f = files.get(Number(pFile));
      if (!f) return 0;
      files.delete(Number(pFile));
      let rc = 0;
      try {
        closeSync(f.fd);
      } catch (err) {
        rc = fail('close', err, capi.SQLITE_IOERR_CLOSE, f.path);
      }
      if (f.unlinkOnClose) {
        try {
          unlinkSync(f.path);
        } catch (err) {
          if (errnoOf(err) !== 'ENOENT' && rc === 0) rc = fail('close/unlink', err, capi.SQLITE_IOERR_DELETE, f.path);
        }
      }
      if (f.isMainDb) {
        try {
          releaseLock(f.path);
        } catch (err) {
          if (rc === 0) rc = fail('close/unlock', err, capi.SQLITE_IOERR_UNLOCK, f.path);
        }
      }
      return rc;
    },

    xRead(pFile: number, pDest: number, n: number, offset64: I64): number {
      let f: OpenFile | undefined;
      try {
        f = fileOf(pFile);
        const dest = heapSlice(pDest, n);
        let pos = Number(offset64);
        let got = 0;
        while (got < n) {
          const k = readSync(f.fd, dest, got, n - got, pos);
          if (k === 0) break; // EOF
          got += k;
          pos += k;
        }
        if (got < n) {
          dest.fill(0, got); // Invariant 3.
          return capi.SQLITE_IOERR_SHORT_READ;
        }
        return 0;
      } catch (err) {
        return fail('read', err, capi.SQLITE_IOERR_READ, f?.path);
      }
    },

    xWrite(pFile: number, pSrc: number, n: number, offset64: I64): number {
      let f: OpenFile | undefined;
      try {
        f = fileOf(pFile);
        const src = heapSlice(pSrc, n);
        let pos = Number(offset64);
        let done = 0;
        while (done < n) {
          const k = writeSync(f.fd, src, done, n - done, pos);
          if (k <= 0) throw new Error(`write returned ${k}`);
          done += k;
          pos += k;
        }
        return 0;
      } catch (err) {
        return fail('write', err, capi.SQLITE_IOERR_WRITE, f?.path);
      }
    },

    xTruncate(pFile: number, size64: I64): number {
      let f: OpenFile | undefined;
      try {
        f = fileOf(pFile);
        ftruncateSync(f.fd, Number(size64));
        return 0;
      } catch (err) {
        return fail('truncate', err, capi.SQLITE_IOERR_TRUNCATE, f?.path);
      }
    },

    xSync(pFile: number, _flags: number): number {
      let f: OpenFile | undefined;
      try {
        f = fileOf(pFile);
        // Always a full fsync (not fdatasync): file growth must reach the disk too (invariant 2).
        fsyncSync(f.fd);
        return 0;
      } catch (err) {
        return fail('fsync', err, capi.SQLITE_IOERR_FSYNC, f?.path);
      }
    },

    xFileSize(pFile: number, pSize64: number): number {
      let f: OpenFile | undefined;
      try {
        f = fileOf(pFile);
        wasm.poke64(pSize64, BigInt(fstatSync(f.fd).size));
        return 0;
      } catch (err) {
        return fail('fstat', err, capi.SQLITE_IOERR_FSTAT, f?.path);
      }
    },

    xLock(pFile: number, level: number): number {
      const f = files.get(Number(pFile));
      if (!f) return capi.SQLITE_IOERR_LOCK;
      if (level > f.lockLevel) f.lockLevel = level;
      return 0;
    },

    xUnlock(pFile: number, level: number): number {
      const f = files.get(Number(pFile));
      if (!f) return capi.SQLITE_IOERR_UNLOCK;
      if (level < f.lockLevel) f.lockLevel = level;
      return 0;
    },

    xCheckReservedLock(pFile: number, pOut: number): number {
      // Other processes are excluded by the lock file, so only our own level matters.
      const f = files.get(Number(pFile));
      wasm.poke32(pOut, f && f.lockLevel >= capi.SQLITE_LOCK_RESERVED ? 1 : 0);
      return 0;
    },

    xFileControl(_pFile: number, _op: number, _pArg: number): number {
      return capi.SQLITE_NOTFOUND;
    },

    xSectorSize(_pFile: number): number {
      return SECTOR_SIZE;
    },

    xDeviceCharacteristics(_pFile: number): number {
      // Like os_unix.c's default (SQLITE_POWERSAFE_OVERWRITE=1): a write never garbles bytes
      // outside its range, so WAL commits need no sector padding frame.
      return capi.SQLITE_IOCAP_POWERSAFE_OVERWRITE;
    },
  };

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

/**
 * The advisory `<db>.lock` file of the `kingdom-nodefs` VFS (invariant 4 of node-file-vfs.ts):
 * at most one open of a main database file across processes. xOpen of a main db creates the lock
 * exclusively (`wx`) holding the owner's pid; a live holder (including another handle in this
 * process) makes the open fail; a dead holder's lock is reclaimed; xClose removes it.
 * Also owns `canonicalPath`, the path form locks (and xFullPathname) are keyed by.
 *
 * Node-only: tsconfig.json (the browser program) excludes worker/kernel/db/node-file-*.ts;
 * tsconfig.node.json checks it.
 */
import { closeSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { errnoOf } from './file-errors.ts';

/** Suffix of the advisory lock file that sits next to every open main database. */
export const LOCK_SUFFIX = '.lock';

/** A lock file with unreadable content younger than this is treated as being written right now. */
const UNREADABLE_LOCK_GRACE_MS = 5_000;

/** Locks this process holds: absolute db path → lock file path. Shared by all sqlite3 instances. */
const heldLocks = new Map<string, string>();

/** Thrown inside xOpen when `<db>.lock` is held by a live process. */
export class LockHeldError extends Error {
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

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return errnoOf(err) === 'EPERM';
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
export function acquireLock(dbPath: string): string {
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

export function releaseLock(dbPath: string): void {
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

/** Absolute path with symlinks in the directory part resolved (the file itself may not exist). */
export function canonicalPath(p: string): string {
  const abs = resolve(p);
  try {
    return join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

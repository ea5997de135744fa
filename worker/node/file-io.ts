/**
 * The per-file io-methods of the `kingdom-nodefs` VFS (node-file-vfs.ts): read, write, truncate,
 * sync, size, lock levels and close for one open file, as synchronous `node:fs` calls on its fd.
 * Every method catches and reports through the VFS's `fail` (invariant 1); xRead zero-fills short
 * reads (invariant 3); xSync is a real fsync (invariant 2); xLock/xUnlock only track the level
 * (invariant 5) and the struct is version 1 (no xShmMap).
 *
 * Node-only: tsconfig.json (the browser program) excludes worker/kernel/db/node-file-*.ts;
 * tsconfig.node.json checks it.
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, readSync, unlinkSync, writeSync } from 'node:fs';
import type { Sqlite3Static, sqlite3_io_methods } from '@sqlite.org/sqlite-wasm';
import { errnoOf } from './file-errors.ts';
import { releaseLock } from './file-lock.ts';

const SECTOR_SIZE = 4096;

/** Per-file state; SQLite's sqlite3_file only carries the methods pointer (szOsFile = 4). */
export interface OpenFile {
  readonly path: string;
  readonly fd: number;
  readonly flags: number;
  readonly isMainDb: boolean;
  /** Delete `path` in xClose (temp files on platforms that cannot unlink open files). */
  readonly unlinkOnClose: boolean;
  lockLevel: number;
}

/**
 * The typings declare io_methods' version as `iVersion`, but StructBinder exposes every member
 * with a `$` prefix at runtime (the sahpool VFS sets `$iVersion` too).
 */
export type IoMethodsStruct = sqlite3_io_methods & { $iVersion: number };

/** `j` (int64) arguments arrive as BigInt. */
type I64 = number | bigint;

/** Records a failure (invariant 1) and returns the SQLite code to hand back to C. */
export type FailFn = (op: string, err: unknown, ioerr: number, path?: string) => number;

/** The io-methods struct and its (honestly typed) methods, for installVfs(). */
export function createNodeFileIo(
  sqlite3: Sqlite3Static,
  files: Map<number, OpenFile>,
  fail: FailFn,
) {
  const { capi, wasm } = sqlite3;

  const heapSlice = (ptr: number, n: number): Uint8Array => {
    const p = Number(ptr);
    return wasm.heap8u().subarray(p, p + n);
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

  return { io, ioMethods };
}

/**
 * The relay's data directory: where each room's files live, and one relay per directory.
 *
 *   <data>/relay.pid            the pid of the relay that owns the directory
 *   <data>/rooms/<roomId>.log   the room's append-only update log (room-log.ts)
 *   <data>/rooms/<roomId>.key   the room's pinned public key (key-pins.ts)
 *
 * Invariants:
 * 1. Two live relays never share a directory: `claim` refuses while relay.pid names a live
 *    process other than this one (a pid left by a killed relay is taken over).
 * 2. A file that must survive a crash is fsynced, and so is the directory that names it, before
 *    the relay relies on it (`fsyncDir`).
 * 3. Paths are built only from validated room ids (64 lowercase hex: auth.ts), so they cannot
 *    leave the rooms directory.
 */
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

export interface DataDir {
  readonly root: string;
  readonly rooms: string;
  logPath(roomId: string): string;
  keyPath(roomId: string): string;
}

export class DataDirInUse extends Error {
  constructor(
    readonly root: string,
    readonly pid: number,
  ) {
    super(`data directory ${root} is in use by a running relay (pid ${pid}); stop it or pass another --data`);
  }
}

/** Creates the directory if needed and claims it for this process. Throws DataDirInUse. */
export async function claim(rootPath: string): Promise<DataDir> {
  const root = resolve(rootPath);
  const rooms = join(root, 'rooms');
  await mkdir(rooms, { recursive: true });
  const pidPath = join(root, 'relay.pid');
  const owner = await readPid(pidPath);
  if (owner !== null && owner !== process.pid && isAlive(owner)) throw new DataDirInUse(root, owner);
  await writeFile(pidPath, `${process.pid}\n`);
  await fsyncDir(root);
  return {
    root,
    rooms,
    logPath: (roomId) => join(rooms, `${roomId}.log`),
    keyPath: (roomId) => join(rooms, `${roomId}.key`),
  };
}

/** Gives the directory up (graceful shutdown): removes relay.pid if it still names this process. */
export async function release(dir: DataDir): Promise<void> {
  const pidPath = join(dir.root, 'relay.pid');
  if ((await readPid(pidPath)) === process.pid) await rm(pidPath, { force: true });
}

/** Makes the directory entries (files created or renamed in `dir`) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readPid(path: string): Promise<number | null> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else, which still means in use.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

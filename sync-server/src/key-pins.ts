/**
 * A room's pinned public key: the first valid token for a room pins its key, durably; later
 * tokens must carry that key (docs/sync-protocol.md, "Relay tokens").
 *
 * Invariants:
 * 1. A pin is written once and never changed: written to a temporary file, fsynced, then
 *    hard-linked to `<roomId>.key` (link fails if the name exists, so two first tokens racing
 *    with different keys cannot both win), and the directory is fsynced before `check` answers
 *    `pinned`.
 * 2. `check` answers from the file (cached in memory after the first read); a key file that
 *    does not hold a 64-hex key is an error, never silently re-pinned.
 * 3. Only a token that already verified (auth.ts) reaches `check`.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rm } from 'node:fs/promises';
import { type DataDir, fsyncDir } from './data-dir.ts';

export type PinCheck = 'pinned' | 'match' | 'mismatch';

/** The seam for another home of pins (a shared store when the relay scales out). */
export interface KeyPins {
  check(roomId: string, publicKeyHex: string): Promise<PinCheck>;
}

const KEY = /^[0-9a-f]{64}$/;

export class FileKeyPins implements KeyPins {
  readonly #cache = new Map<string, string>();
  readonly #inFlight = new Map<string, Promise<{ key: string; pinnedNow: boolean }>>();

  constructor(readonly dir: DataDir) {}

  /** Compares with the room's pin, pinning `publicKeyHex` if the room has none. Throws on I/O errors. */
  async check(roomId: string, publicKeyHex: string): Promise<PinCheck> {
    const known = this.#cache.get(roomId);
    if (known !== undefined) return known === publicKeyHex ? 'match' : 'mismatch';
    // One read-or-pin per room at a time: a second token for a new room waits for the first.
    const joined = this.#inFlight.get(roomId);
    const pending = joined ?? this.#readOrPin(roomId, publicKeyHex).finally(() => this.#inFlight.delete(roomId));
    if (joined === undefined) this.#inFlight.set(roomId, pending);
    const { key, pinnedNow } = await pending;
    this.#cache.set(roomId, key);
    if (key !== publicKeyHex) return 'mismatch';
    return pinnedNow && joined === undefined ? 'pinned' : 'match';
  }

  async #readOrPin(roomId: string, publicKeyHex: string): Promise<{ key: string; pinnedNow: boolean }> {
    const existing = await this.#read(roomId);
    if (existing !== null) return { key: existing, pinnedNow: false };
    const path = this.dir.keyPath(roomId);
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    const handle = await open(tmp, 'wx');
    try {
      await handle.writeFile(`${publicKeyHex}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    let pinnedNow = false;
    try {
      await link(tmp, path);
      pinnedNow = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      await rm(tmp, { force: true });
    }
    await fsyncDir(this.dir.rooms);
    const key = await this.#read(roomId);
    if (key === null) throw new Error(`key pin of room ${roomId.slice(0, 8)} vanished after linking`);
    return { key, pinnedNow };
  }

  async #read(roomId: string): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(this.dir.keyPath(roomId), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const key = text.trim();
    if (!KEY.test(key)) throw new Error(`key pin file of room ${roomId.slice(0, 8)} does not hold a key`);
    return key;
  }
}

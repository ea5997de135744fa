/**
 * Key pins in Redis, shared by every relay on it: `SET <pin> <key> NX` pins a room's key (the
 * first valid token wins), and a pin is never changed (docs/sync-protocol.md, "Relay tokens").
 *
 * Invariants:
 * 1. Two relays can never pin different keys for one room: SET NX is atomic in Redis, and the
 *    loser reads the winner's key back and compares with it.
 * 2. A pin is cached in memory once read (pins never change); an I/O error throws (the upgrade
 *    is then refused with 503) and is never taken for "no pin".
 * 3. A pin value that is not a 64-hex key is an error, never silently re-pinned.
 * 4. As durable as Redis is configured to be: a Redis that loses its data loses its pins too,
 *    and the next valid token for a room pins its key again (docs/relay.md).
 */
import type { KeyPins, PinCheck } from './key-pins.ts';
import { type RedisLink, roomKeys } from './redis-link.ts';

const KEY = /^[0-9a-f]{64}$/;

export class RedisKeyPins implements KeyPins {
  readonly #cache = new Map<string, string>();

  constructor(readonly link: RedisLink) {}

  async check(roomId: string, publicKeyHex: string): Promise<PinCheck> {
    const known = this.#cache.get(roomId);
    if (known !== undefined) return known === publicKeyHex ? 'match' : 'mismatch';
    const key = roomKeys(roomId).pin;
    const set = await this.link.cmd.set(key, publicKeyHex, 'NX');
    if (set === 'OK') {
      this.#cache.set(roomId, publicKeyHex);
      return 'pinned';
    }
    const pinned = await this.link.cmd.get(key);
    if (pinned === null) throw new Error(`key pin of room ${roomId.slice(0, 8)} vanished after SET NX refused it`);
    if (!KEY.test(pinned)) throw new Error(`key pin of room ${roomId.slice(0, 8)} does not hold a key`);
    this.#cache.set(roomId, pinned);
    return pinned === publicKeyHex ? 'match' : 'mismatch';
  }

  /** Forgets cached pins (Redis went away: it may come back without them). */
  forget(): void {
    this.#cache.clear();
  }
}

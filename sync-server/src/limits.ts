/**
 * Rate limits: token buckets per relay token, per client address, and for connection attempts
 * per address.
 *
 * Invariants:
 * 1. A bucket holds at most `burst` units and refills at `perSecond` units a second, computed
 *    lazily from the clock on each take (no timers per bucket).
 * 2. A message costs one unit of a message bucket and its length in a byte bucket; it passes
 *    only when the token's AND the address's buckets both have room, and a refused message
 *    takes nothing from either.
 * 3. Memory is bounded by live keys: `sweep()` drops buckets that are full again (an idle key
 *    costs nothing to forget, since a fresh bucket is full too).
 */

export interface Rate {
  /** Units added per second. */
  readonly perSecond: number;
  /** Most units a bucket holds (the largest burst). */
  readonly burst: number;
}

export interface RateLimits {
  /** Messages and bytes a single relay token may send (all its connections together). */
  readonly tokenMessages: Rate;
  readonly tokenBytes: Rate;
  /** Messages and bytes one client address may send (all its connections together). */
  readonly addrMessages: Rate;
  readonly addrBytes: Rate;
  /** Upgrade attempts (valid or not) from one client address. */
  readonly addrConnects: Rate;
}

export class TokenBucket {
  #units: number;
  #at: number;

  constructor(
    readonly rate: Rate,
    now: number,
  ) {
    this.#units = rate.burst;
    this.#at = now;
  }

  /** Whether `units` are available at `now` (refilling first); does not take them. */
  has(units: number, now: number): boolean {
    this.#refill(now);
    return this.#units >= units;
  }

  take(units: number, now: number): boolean {
    if (!this.has(units, now)) return false;
    this.#units -= units;
    return true;
  }

  /** Full again at `now` (nothing to remember about this key). */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#units >= this.rate.burst;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#units = Math.min(this.rate.burst, this.#units + (elapsed / 1000) * this.rate.perSecond);
  }
}

/** Buckets by key, created full on first use. */
export class BucketMap {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(readonly rate: Rate) {}

  get(key: string, now: number): TokenBucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.rate, now);
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.isFull(now)) this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }
}

export type MessageVerdict = 'ok' | 'token' | 'addr';

/** The relay's rate limiter: one instance per process, shared by all rooms. */
export class Limiter {
  readonly #tokenMessages: BucketMap;
  readonly #tokenBytes: BucketMap;
  readonly #addrMessages: BucketMap;
  readonly #addrBytes: BucketMap;
  readonly #addrConnects: BucketMap;

  constructor(limits: RateLimits) {
    this.#tokenMessages = new BucketMap(limits.tokenMessages);
    this.#tokenBytes = new BucketMap(limits.tokenBytes);
    this.#addrMessages = new BucketMap(limits.addrMessages);
    this.#addrBytes = new BucketMap(limits.addrBytes);
    this.#addrConnects = new BucketMap(limits.addrConnects);
  }

  /** One upgrade attempt from `addr`: false when the address is over its connection rate. */
  connect(addr: string, now: number): boolean {
    return this.#addrConnects.get(addr, now).take(1, now);
  }

  /** One incoming message of `bytes` on a connection of `tokenKey` from `addr`. */
  message(tokenKey: string, addr: string, bytes: number, now: number): MessageVerdict {
    const tm = this.#tokenMessages.get(tokenKey, now);
    const tb = this.#tokenBytes.get(tokenKey, now);
    if (!tm.has(1, now) || !tb.has(bytes, now)) return 'token';
    const am = this.#addrMessages.get(addr, now);
    const ab = this.#addrBytes.get(addr, now);
    if (!am.has(1, now) || !ab.has(bytes, now)) return 'addr';
    tm.take(1, now);
    tb.take(bytes, now);
    am.take(1, now);
    ab.take(bytes, now);
    return 'ok';
  }

  /** Forget every bucket that has refilled completely (call periodically). */
  sweep(now: number): void {
    for (const map of [this.#tokenMessages, this.#tokenBytes, this.#addrMessages, this.#addrBytes, this.#addrConnects]) {
      map.sweep(now);
    }
  }

  /** Live buckets (for tests of the sweep). */
  get buckets(): number {
    return this.#tokenMessages.size + this.#tokenBytes.size + this.#addrMessages.size + this.#addrBytes.size + this.#addrConnects.size;
  }
}

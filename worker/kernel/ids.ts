/**
 * UUIDv7 ids (RFC 9562), monotonic within this process: 48-bit ms timestamp, a 12-bit counter in
 * rand_a that increments within the same millisecond, and 62 random bits.
 */
let lastMs = -1;
let counter = 0;
// One getRandomValues call per 512 ids instead of one per id (it dominated id generation).
const POOL = new Uint8Array(8 * 512);
let poolOff = POOL.length;

export function uuidv7(nowMs: number = Date.now()): string {
  let ms = Math.floor(nowMs);
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted within one ms: borrow the next millisecond (stays monotonic).
      ms = lastMs + 1;
      counter = 0;
    }
  } else {
    counter = 0;
  }
  lastMs = ms;
  if (poolOff >= POOL.length) {
    crypto.getRandomValues(POOL);
    poolOff = 0;
  }
  const rand = POOL.subarray(poolOff, poolOff + 8);
  poolOff += 8;
  const b = new Uint8Array(16);
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | ((counter >>> 8) & 0x0f);
  b[7] = counter & 0xff;
  b[8] = 0x80 | (rand[0]! & 0x3f);
  for (let i = 1; i < 8; i++) b[8 + i] = rand[i]!;
  let hex = '';
  for (const x of b) hex += x.toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

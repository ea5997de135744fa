/**
 * The byte format of a room's append-only log file (pure: no I/O).
 *
 *   file   = MAGIC record*
 *   MAGIC  = the 8 bytes "KRELAY1\n"
 *   record = u32 LE payload length (> 0) | u32 LE CRC-32 of the payload | payload (one Yjs update)
 *
 * Invariants:
 * 1. A record is valid only when its whole header and payload are present, the length is not
 *    zero and the CRC matches. Scanning stops at the first invalid record: everything before it
 *    is the log, everything from it on is a torn tail (a crash mid-append) to cut off.
 * 2. A file shorter than MAGIC that is a prefix of it is a torn creation (empty log); any other
 *    bytes where MAGIC should be mean the file is not a relay log, and it is never truncated.
 * 3. Encoding a record and scanning it back gives the same payload bytes.
 */
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('KRELAY1\n', 'latin1');
export const RECORD_HEADER_BYTES = 8;

export type Scan =
  | {
      readonly ok: true;
      /** The payloads of the valid records, in order (views into the scanned buffer). */
      readonly updates: Uint8Array[];
      /** Bytes of the valid prefix (MAGIC included); the file's length once repaired. */
      readonly validBytes: number;
      /** Bytes after the valid prefix (0 for a clean file). */
      readonly tornBytes: number;
      /** Whether MAGIC itself is missing or torn (the repaired file must get it written). */
      readonly needsMagic: boolean;
    }
  | { readonly ok: false; readonly reason: 'not_a_relay_log' };

export function encodeRecord(update: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + update.length);
  out.writeUInt32LE(update.length, 0);
  out.writeUInt32LE(crc32(update), 4);
  out.set(update, RECORD_HEADER_BYTES);
  return out;
}

export function scanLog(file: Uint8Array): Scan {
  if (file.length < MAGIC.length) {
    const prefix = MAGIC.subarray(0, file.length);
    if (!prefix.equals(file)) return { ok: false, reason: 'not_a_relay_log' };
    return { ok: true, updates: [], validBytes: 0, tornBytes: file.length, needsMagic: true };
  }
  if (!MAGIC.equals(file.subarray(0, MAGIC.length))) return { ok: false, reason: 'not_a_relay_log' };
  const view = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const updates: Uint8Array[] = [];
  let pos = MAGIC.length;
  while (pos + RECORD_HEADER_BYTES <= view.length) {
    const len = view.readUInt32LE(pos);
    const sum = view.readUInt32LE(pos + 4);
    const start = pos + RECORD_HEADER_BYTES;
    if (len === 0 || len > view.length - start) break;
    const payload = view.subarray(start, start + len);
    if (crc32(payload) !== sum) break;
    updates.push(payload);
    pos = start + len;
  }
  return { ok: true, updates, validBytes: pos, tornBytes: view.length - pos, needsMagic: false };
}

/**
 * What a well-formed y-websocket message is, checked before a message reaches
 * @y/websocket-server (which would otherwise log a stack trace for garbage and carry on).
 *
 * The framing (y-protocols 1.x, lib0 encoding): varUint type, then
 *   0 sync:      varUint step (0 = step 1: varUint8Array state vector; 1 = step 2 and
 *                2 = update: varUint8Array Yjs update)
 *   1 awareness: varUint8Array of [varUint count, count × (varUint client, varUint clock,
 *                varString JSON state)]
 *
 * Invariants:
 * 1. A message is well-formed only when its frame is consumed exactly (no trailing bytes), every
 *    varUint fits in 53 bits, every length stays inside the message, an update or state vector
 *    decodes with Yjs and every awareness state is valid UTF-8 JSON.
 * 2. Everything else is `malformed` (types 2 auth and 3 query-awareness included: a relay client
 *    never sends them). Nothing here throws.
 * 3. For a sync step 2 or update, `updateBytes` is the update's length: what the room may store.
 */
import * as Y from 'yjs';

export const MessageKind = {
  syncStep1: 'sync_step1',
  syncStep2: 'sync_step2',
  syncUpdate: 'sync_update',
  awareness: 'awareness',
} as const;
export type MessageKind = (typeof MessageKind)[keyof typeof MessageKind];

export type Inspected =
  | { readonly ok: true; readonly kind: MessageKind; readonly updateBytes: number }
  | { readonly ok: false; readonly reason: string };

export function inspectMessage(message: Uint8Array): Inspected {
  try {
    return inspect(new Reader(message));
  } catch (err) {
    return { ok: false, reason: err instanceof Malformed ? err.message : 'undecodable' };
  }
}

class Malformed extends Error {}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

function inspect(r: Reader): Inspected {
  const type = r.varUint();
  if (type === 0) {
    const step = r.varUint();
    const payload = r.varBytes();
    r.end();
    if (step === 0) {
      Y.decodeStateVector(payload);
      return { ok: true, kind: MessageKind.syncStep1, updateBytes: 0 };
    }
    if (step === 1 || step === 2) {
      Y.decodeUpdate(payload);
      return { ok: true, kind: step === 1 ? MessageKind.syncStep2 : MessageKind.syncUpdate, updateBytes: payload.length };
    }
    throw new Malformed('unknown_sync_step');
  }
  if (type === 1) {
    const inner = new Reader(r.varBytes());
    r.end();
    const count = inner.varUint();
    for (let i = 0; i < count; i++) {
      inner.varUint();
      inner.varUint();
      JSON.parse(fatalUtf8.decode(inner.varBytes()));
    }
    inner.end();
    return { ok: true, kind: MessageKind.awareness, updateBytes: 0 };
  }
  throw new Malformed('unknown_message_type');
}

/** A strict lib0 decoder: throws Malformed instead of reading past the end. */
class Reader {
  #pos = 0;

  constructor(readonly bytes: Uint8Array) {}

  varUint(): number {
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.#byte();
      value += (byte & 0x7f) * mult;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(value)) break;
        return value;
      }
      mult *= 128;
    }
    throw new Malformed('varuint_too_large');
  }

  varBytes(): Uint8Array {
    const len = this.varUint();
    if (len > this.bytes.length - this.#pos) throw new Malformed('length_past_end');
    const out = this.bytes.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  end(): void {
    if (this.#pos !== this.bytes.length) throw new Malformed('trailing_bytes');
  }

  #byte(): number {
    const b = this.bytes[this.#pos];
    if (b === undefined) throw new Malformed('truncated');
    this.#pos++;
    return b;
  }
}

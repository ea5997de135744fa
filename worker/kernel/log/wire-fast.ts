/**
 * A fast, conservative pre-check of an ingest batch against `ingestSchema` (log/wire.ts), written
 * out by hand because zod's walk over every payload costs several µs per event.
 *
 * Invariants:
 * 1. Sound: `surelyValid(x)` is true only when `ingestSchema.safeParse(x)` succeeds (a unit test
 *    fuzzes the two against each other). It may be false for a batch zod accepts (it asks more:
 *    plain prototypes, no symbol keys, no `undefined` where zod would pass it): the caller then
 *    runs zod, which decides and words the issues. So the pre-check changes no answer and no
 *    refusal, only how fast an honest batch passes.
 * 2. Every field rule mirrors the schema: string lengths in UTF-16 units, integers safe, numbers
 *    finite, the same regular expressions, strict keys.
 */
import { HLC_PATTERN } from './hlc.ts';

const HEX64 = /^[0-9a-f]{64}$/;
const KEY_ID = /^[0-9a-f]{16}$/;
const SIGNATURE = /^[0-9a-f]{128}$/;
const MAX_BATCH = 100_000;

const EVENT_KEYS = new Set(['id', 'device', 'deviceSeq', 'hlc', 'prev', 'stream', 'streamBase', 'type', 'v', 'at', 'actor', 'payload', 'hash', 'seq', 'streamSeq']);
const CHECKPOINT_KEYS = new Set(['device', 'deviceSeq', 'headHash', 'audit', 'keyId', 'signature', 'at', 'format', 'seq']);
const AUDIT_KEYS = new Set(['seq', 'hash']);
const TOP_KEYS = new Set(['events', 'checkpoints']);

type Obj = Record<string, unknown>;

function plain(x: unknown): x is Obj {
  if (typeof x !== 'object' || x === null) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

/** Only keys of `allowed` (own enumerable ones; no symbols at all). */
function onlyKeys(o: Obj, allowed: ReadonlySet<string>): boolean {
  for (const k of Reflect.ownKeys(o)) if (typeof k !== 'string' || !allowed.has(k)) return false;
  return true;
}

const str = (x: unknown, min: number, max: number): boolean => typeof x === 'string' && x.length >= min && x.length <= max;
const int = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
const re = (x: unknown, r: RegExp): boolean => typeof x === 'string' && r.test(x);
const optInt = (x: unknown): boolean => x === undefined || (typeof x === 'number' && Number.isSafeInteger(x));

function json(x: unknown): boolean {
  if (x === null || typeof x === 'string' || typeof x === 'boolean') return true;
  if (typeof x === 'number') return Number.isFinite(x);
  if (Array.isArray(x)) {
    if (Object.getPrototypeOf(x) !== Array.prototype) return false;
    for (let i = 0; i < x.length; i++) if (!json(x[i])) return false;
    return true;
  }
  if (!plain(x)) return false;
  for (const k of Reflect.ownKeys(x)) if (typeof k !== 'string' || !json(x[k])) return false;
  return true;
}

function event(x: unknown): boolean {
  if (!plain(x) || !onlyKeys(x, EVENT_KEYS)) return false;
  return str(x['id'], 1, 200) && str(x['device'], 1, 200) && int(x['deviceSeq'], 1) && re(x['hlc'], HLC_PATTERN)
    && re(x['prev'], HEX64) && str(x['stream'], 1, 2000) && int(x['streamBase'], 0) && str(x['type'], 1, 200)
    && int(x['v'], 1) && str(x['at'], 1, 100) && str(x['actor'], 0, 2000) && 'payload' in x && json(x['payload'])
    && re(x['hash'], HEX64) && optInt(x['seq']) && optInt(x['streamSeq']);
}

function checkpoint(x: unknown): boolean {
  if (!plain(x) || !onlyKeys(x, CHECKPOINT_KEYS)) return false;
  const audit = x['audit'];
  const auditOk = audit === null || (plain(audit) && onlyKeys(audit, AUDIT_KEYS) && int(audit['seq'], 1) && re(audit['hash'], HEX64));
  return str(x['device'], 1, 200) && int(x['deviceSeq'], 1) && re(x['headHash'], HEX64) && auditOk
    && re(x['keyId'], KEY_ID) && re(x['signature'], SIGNATURE) && str(x['at'], 1, 100) && x['format'] === 2 && optInt(x['seq']);
}

function list(x: unknown, each: (e: unknown) => boolean): boolean {
  if (!Array.isArray(x) || Object.getPrototypeOf(x) !== Array.prototype || x.length > MAX_BATCH) return false;
  for (let i = 0; i < x.length; i++) if (!each(x[i])) return false;
  return true;
}

/** True only when `input` certainly matches `ingestSchema` (invariant 1); false: ask zod. */
export function surelyValid(input: unknown): boolean {
  try {
    if (!plain(input) || !onlyKeys(input, TOP_KEYS)) return false;
    const cps = input['checkpoints'];
    return list(input['events'], event) && (cps === undefined || list(cps, checkpoint));
  } catch {
    return false; // a getter that throws, a payload nested too deep: zod decides
  }
}

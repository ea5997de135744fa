/**
 * Geometry and colouring of the chain picture (Integrity screen): a window of consecutive events
 * as blocks in wrapping rows, oldest top-left, each block's `prev` an arrow back to the block
 * before it. Pure functions: positions come from the index alone, so new events never need a
 * measurement of the DOM.
 *
 * Verify states (from the last report):
 * - no report yet, or an event written after the verify: `unknown` (grey);
 * - a break in the event chain at seq S: every event before S `ok`, S and everything after it
 *   `broken` (the chain cannot vouch for anything past its first bad link);
 * - a break in the audit chain or a checkpoint: the events all verified (`ok`), only the event the
 *   bad audit entry or checkpoint points to is `broken`.
 */
import type { VerifyReport } from '../../worker/api.ts';

export type ChainState = 'ok' | 'broken' | 'unknown';

export const GEOMETRY = {
  cols: 8,
  /** Block size. */
  bw: 100,
  bh: 58,
  /** Gaps between blocks, across and down. */
  gx: 26,
  gy: 44,
  /** Outer margins (the left one holds the arrow to events before the window). */
  mx: 34,
  my: 20,
  /** Arrowhead length. */
  head: 7,
} as const;

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface ChainLayout {
  readonly width: number;
  readonly height: number;
  /** Top-left corner of block i. */
  readonly at: (i: number) => Point;
}

export function layoutChain(count: number, g = GEOMETRY): ChainLayout {
  // Always the full width, so a short chain is drawn at the same scale as a long one.
  const rows = Math.max(1, Math.ceil(count / g.cols));
  return {
    width: 2 * g.mx + g.cols * g.bw + (g.cols - 1) * g.gx,
    height: 2 * g.my + rows * g.bh + (rows - 1) * g.gy,
    at: (i) => ({ x: g.mx + (i % g.cols) * (g.bw + g.gx), y: g.my + Math.floor(i / g.cols) * (g.bh + g.gy) }),
  };
}

/**
 * The `prev` arrow from the block at `from` back to its predecessor at `to` (the one before it in
 * the window): straight across within a row; from the first block of a row, out to the left,
 * up into the gap between the rows, across, and into the last block of the row above. The arrow
 * always enters its target from the right, so the arrowhead is the same shape everywhere.
 */
export function linkPath(from: Point, to: Point, g = GEOMETRY): { line: string; head: string } {
  const y1 = from.y + g.bh / 2;
  const x2 = to.x + g.bw;
  const y2 = to.y + g.bh / 2;
  let line: string;
  if (from.y === to.y) {
    line = `M${from.x} ${y1}H${x2 + g.head}`;
  } else {
    const out = from.x - 14;
    const back = x2 + 14;
    const mid = from.y - g.gy / 2;
    line = `M${from.x} ${y1}H${out}V${mid}H${back}V${y2}H${x2 + g.head}`;
  }
  return { line, head: arrowhead(x2, y2, g) };
}

/** The arrow from the first block in the window to what lies before it (off to the left). */
export function stubPath(from: Point, g = GEOMETRY): { line: string; head: string } {
  const y = from.y + g.bh / 2;
  const x2 = from.x - g.mx + GENESIS_R * 2 + 2;
  return { line: `M${from.x} ${y}H${x2 + g.head}`, head: arrowhead(x2, y, g) };
}

/** Radius of the dot left of event 1 that stands for the genesis hash (its centre: x = GENESIS_R + 1). */
export const GENESIS_R = 4;

function arrowhead(x: number, y: number, g = GEOMETRY): string {
  return `M${x} ${y}l${g.head} -4v8z`;
}

/** The seq the failure shows at, when the report names one in the event chain or a checkpoint. */
export function brokenEventSeq(report: VerifyReport | null): number | null {
  const b = report?.broken;
  if (!b) return null;
  return b.chain === 'audit' ? null : b.seq;
}

/**
 * State of event `seq`. `focusSeq` is the event the broken link concerns (for an audit break:
 * the event its entry points to, looked up separately).
 */
export function blockState(seq: number, report: VerifyReport | null, focusSeq: number | null): ChainState {
  if (!report) return 'unknown';
  const b = report.broken;
  if (b?.chain === 'events') return seq >= b.seq ? 'broken' : 'ok';
  if (b && seq === focusSeq) return 'broken';
  return seq <= report.headSeq ? 'ok' : 'unknown';
}

/** State of the link from event `seq` to the one before it. */
export function linkState(seq: number, report: VerifyReport | null): ChainState {
  if (!report) return 'unknown';
  const b = report.broken;
  if (b?.chain === 'events') return seq >= b.seq ? 'broken' : 'ok';
  return seq <= report.headSeq ? 'ok' : 'unknown';
}

/** The first 8 hex digits of a hash. */
export function shortHash(hash: string): string {
  return hash.slice(0, 8);
}

/** `text` cut to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** State of the signed checkpoint at event `seq`. */
export function checkpointState(seq: number, report: VerifyReport | null): ChainState {
  if (!report) return 'unknown';
  const b = report.broken;
  if (!b) return seq <= report.headSeq ? 'ok' : 'unknown';
  if (b.chain === 'checkpoints') return seq < b.seq ? 'ok' : seq === b.seq ? 'broken' : 'unknown';
  return 'unknown'; // checkpoints are checked last: an earlier break leaves them unchecked
}

/** State of audit entry `seq` (pointing at event `eventSeq`). */
export function auditState(seq: number, eventSeq: number, report: VerifyReport | null): ChainState {
  if (!report) return 'unknown';
  const b = report.broken;
  if (!b || b.chain === 'checkpoints') return eventSeq <= report.headSeq ? 'ok' : 'unknown';
  if (b.chain === 'audit') return seq < b.seq ? 'ok' : seq === b.seq ? 'broken' : 'unknown';
  return 'unknown'; // the audit chain is checked after the events: a break there leaves it unchecked
}

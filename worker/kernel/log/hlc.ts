/**
 * A hybrid logical clock (Kulkarni et al.): physical milliseconds plus a counter, so the events of
 * every device sort in one order that respects causality (an event sorts after every event its
 * device had seen) and stays close to wall time.
 *
 * Invariants:
 * 1. `tick()` returns a value strictly greater than every value it returned or `observe()`d.
 * 2. The text form is 16 lowercase hex digits (12 of milliseconds, 4 of counter), so string order
 *    is clock order.
 */
const COUNTER_MAX = 0xffff;

export const HLC_PATTERN = /^[0-9a-f]{16}$/;

export class HybridClock {
  private wall = 0;
  private counter = 0;

  constructor(private readonly now: () => number) {}

  /** The next timestamp for an event written here. */
  tick(): string {
    const pt = Math.max(0, Math.floor(this.now()));
    if (pt > this.wall) {
      this.wall = pt;
      this.counter = 0;
    } else if (this.counter < COUNTER_MAX) {
      this.counter++;
    } else {
      this.wall++;
      this.counter = 0;
    }
    return formatHlc(this.wall, this.counter);
  }

  /** Take in a timestamp seen on another device's event (or read back from the log). */
  observe(hlc: string): void {
    const { wall, counter } = parseHlc(hlc);
    if (wall > this.wall || (wall === this.wall && counter > this.counter)) {
      this.wall = wall;
      this.counter = counter;
    }
  }
}

export function formatHlc(wall: number, counter: number): string {
  return wall.toString(16).padStart(12, '0') + counter.toString(16).padStart(4, '0');
}

export function parseHlc(hlc: string): { wall: number; counter: number } {
  return { wall: parseInt(hlc.slice(0, 12), 16), counter: parseInt(hlc.slice(12), 16) };
}

/** Milliseconds of an HLC value. */
export function hlcMillis(hlc: string): number {
  return parseHlc(hlc).wall;
}

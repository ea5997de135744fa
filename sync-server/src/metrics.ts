/**
 * What the relay counts, and the `/healthz` body built from it.
 *
 * Invariants:
 * 1. Counters only grow for the life of the process (they restart at 0 with it).
 * 2. `refused` counts refusals by cause: auth (401 at the upgrade), size (message or room over
 *    its limit), rate (429 at the upgrade, or a connection closed for its rate), malformed (a
 *    malformed room path, a garbage frame, a WebSocket protocol error).
 */

export const Refusal = { auth: 'auth', size: 'size', rate: 'rate', malformed: 'malformed' } as const;
export type Refusal = (typeof Refusal)[keyof typeof Refusal];

export interface Health {
  readonly ok: boolean;
  readonly rooms: number;
  readonly connections: number;
  readonly uptimeMs: number;
  readonly refused: Readonly<Record<Refusal, number>>;
  /** Only with Redis (REDIS_URL): whether the relay reaches it; `ok` is false while it is down. */
  readonly redis?: 'up' | 'down';
}

export class Metrics {
  readonly startedAt = Date.now();
  readonly refused: Record<Refusal, number> = { auth: 0, size: 0, rate: 0, malformed: 0 };

  refuse(cause: Refusal): void {
    this.refused[cause]++;
  }

  health(state: { ok: boolean; rooms: number; connections: number; redis?: 'up' | 'down' }): Health {
    return { ...state, uptimeMs: Date.now() - this.startedAt, refused: { ...this.refused } };
  }
}

/**
 * What the relic service (worker/services/relic-service.ts) knows that is not an event: when each
 * Relic was last probed, its last answer, and the steps of a Monument bring-up still running. The
 * log records only health CHANGES and finished bring-ups (relics.ts); the queries add these live
 * facts from the board of the kernel they run on.
 *
 * Invariants:
 * 1. One board per kernel, attached to the kernel's reader (the object every query of that kernel
 *    reads through), so two kernels in one process (tests) never see each other's probes.
 * 2. Nothing here is durable: after a restart the board is empty until the first probe, which the
 *    service makes at once.
 */
import type { Reader } from '../../kernel/module.ts';

export interface ProbeFacts {
  readonly status: 'healthy' | 'unhealthy';
  /** ISO time of the probe's answer (or timeout). */
  readonly checkedAt: string;
  /** The problem in a sentence (unhealthy only). */
  readonly error?: string;
  readonly httpStatus?: number;
  readonly ms: number;
}

export interface BringUpStep {
  readonly component: string;
  readonly kind: string;
  readonly state: 'pending' | 'waiting' | 'up' | 'failed' | 'skipped';
  readonly detail: string;
}

export class LiveBoard {
  /** `<workspaceId>/<name>@<version>` → the last probe and when the next is due. */
  readonly relics = new Map<string, { last?: ProbeFacts; nextAt?: string }>();
  /** Bring-up id → its steps so far. */
  readonly bringUps = new Map<string, readonly BringUpStep[]>();
}

const boards = new WeakMap<object, LiveBoard>();

export function relicKey(workspaceId: string, name: string, version: string): string {
  return `${workspaceId}/${name}@${version}`;
}

/** The board of the kernel `read` belongs to (made on first use). */
export function boardOf(read: Reader): LiveBoard {
  let board = boards.get(read);
  if (!board) {
    board = new LiveBoard();
    boards.set(read, board);
  }
  return board;
}

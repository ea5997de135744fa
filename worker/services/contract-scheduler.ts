/**
 * The contract scheduler: the kernel-side service that makes contracts fire on their own
 * (docs/contracts.md). Started by the composition root (worker/root.ts) next to the engine, on
 * the engine's Clock (a ManualClock in tests); it only ever acts through kernel commands.
 *
 * - Cron: at start, and whenever a contract changes, each enabled cron contract is asked
 *   `dueAt(trigger, considered, now)` — `considered` is in the log (the furthest instant any
 *   device recorded with a firing or a skip), so catching up after the app was closed for a day
 *   needs nothing but the log. Due instants fire (`contract.trigger`, idempotency key = the
 *   firing key), skipped ranges are recorded (`contract.skip`), in one transaction. Then ONE
 *   timer is set, for the earliest next instant of all contracts.
 * - A contract fires on time on its home device (the device that last set it); other devices
 *   look `lagMs` later (default 90 s), so when two devices are open the home device's firing
 *   normally arrives first and the other device never fires that key.
 * - Events: one subscription to the log, filtered by the event types of enabled event
 *   contracts, from the contract's last set or enable. An event fires on the device that wrote
 *   it (every device sees every event after a merge; only its writer fires it), at most once
 *   (firing key `contract/<id>/event/<event id>`).
 * - Overlap buffer_one: when a contract's run ends, its buffered firing is released. A duplicate
 *   run (another device fired the same key first, merged later) still running here is cancelled.
 *
 * Invariants:
 * 1. At most one timer is pending; `stop()` clears it and the subscriptions (the kernel's close stops it).
 * 2. A failed command (kernel closed, read-only) is reported to onError, never thrown into a timer.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { CommandInput } from '../kernel/commands/envelope.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { soon, systemClock, type Clock } from '../engine/clock.ts';
import { ask } from '../engine/ask.ts';
import { dueAt, firingKey } from '../contracts/schedule.ts';
import { eventFiringKey } from '../domains/contracts/firing.ts';
import type { Trigger } from '../domains/contracts/schemas.ts';

export interface SchedulerOptions {
  readonly clock?: Clock;
  /** How much later than its home device another device fires a cron instant (default 90 s). */
  readonly lagMs?: number;
  readonly onError?: (err: unknown) => void;
}

export const FOLLOWER_LAG_MS = 90_000;

type Scheduled = ReturnType<typeof scheduleOf>[number];
const scheduleOf = (k: Kernel) => ask(k, 'contract.schedule', {});

const RESCHEDULE = new Set(['contract.set', 'contract.enabled', 'contract.disabled', 'contract.removed']);
const SESSION_END = new Set(['session.succeeded', 'session.failed', 'session.cancelled']);

export class ContractScheduler {
  private readonly clock: Clock;
  private readonly lagMs: number;
  private timer: unknown = null;
  private stopped = false;
  private queued = false;
  /** What this run of the scheduler considered beyond what the log says (a firing answered "already"). */
  private readonly considered = new Map<string, number>();
  private readonly liveSub: { close(): void };
  private eventSub: { close(): void } | null = null;
  private eventKey = '';
  private eventContracts: readonly Scheduled[] = [];

  private constructor(private readonly kernel: Kernel, private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.lagMs = options.lagMs ?? FOLLOWER_LAG_MS;
    this.liveSub = kernel.subscribe((events) => this.onEvents(events));
    kernel.onClose(() => this.stop());
  }

  static start(kernel: Kernel, options: SchedulerOptions = {}): ContractScheduler {
    const s = new ContractScheduler(kernel, options);
    s.tick();
    return s;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.liveSub.close();
    this.eventSub?.close();
  }

  /** Look at every contract now: fire and skip what is due, release and cancel what is owed, set the next timer. */
  tick(): void {
    if (this.stopped || this.kernel.isClosed) return;
    try {
      const all = scheduleOf(this.kernel);
      this.fireCron(all.filter((c) => c.trigger.kind === 'cron'));
      this.watchEvents(all.filter((c) => c.trigger.kind === 'event'));
      this.settlePending();
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private fireCron(contracts: readonly Scheduled[]): void {
    const now = this.clock.now();
    const mine = new Set(this.kernel.ownDevices());
    const commands: CommandInput[] = [];
    let nextAt: number | null = null;
    for (const c of contracts) {
      const t = c.trigger as Extract<Trigger, { kind: 'cron' }>;
      const trigger = { cron: t.cron, ...(t.timezone !== undefined ? { timezone: t.timezone } : {}) };
      const lag = mine.has(c.homeDevice) ? 0 : this.lagMs;
      const since = Math.max(c.considered, this.considered.get(c.id) ?? 0);
      const due = dueAt(trigger, since, Math.max(since, now - lag), c.catchUp);
      if (due.skipped.length > 0) {
        commands.push({ type: 'contract.skip', payload: { id: c.id, ranges: due.skipped.slice(0, 100), considered: due.considered }, idempotencyKey: `contract/${c.id}/skipped/${due.considered}` });
      }
      for (const instant of due.fire) {
        commands.push({ type: 'contract.trigger', payload: { id: c.id, instant, considered: due.considered }, idempotencyKey: firingKey(c.id, instant) });
      }
      this.considered.set(c.id, due.considered);
      if (due.next !== null && (nextAt === null || due.next + lag < nextAt)) nextAt = due.next + lag;
    }
    if (commands.length > 0) this.kernel.systemBatch(commands);
    this.setTimer(nextAt, now);
  }

  private setTimer(at: number | null, now: number): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = at === null ? null : this.clock.setTimer(() => {
      this.timer = null;
      this.tick();
    }, at - now);
  }

  /** (Re)subscribe to the event types of the enabled event contracts, from the earliest one's set. */
  private watchEvents(contracts: readonly Scheduled[]): void {
    this.eventContracts = contracts;
    const key = contracts.map((c) => `${c.id}@${c.fromSeq}`).sort().join(',');
    if (key === this.eventKey) return;
    this.eventKey = key;
    this.eventSub?.close();
    this.eventSub = null;
    if (contracts.length === 0) return;
    const types = [...new Set(contracts.map((c) => (c.trigger as Extract<Trigger, { kind: 'event' }>).type))];
    const fromSeq = Math.min(...contracts.map((c) => c.fromSeq)) + 1;
    this.eventSub = this.kernel.subscribe((events) => this.onTriggerEvents(events), { fromSeq, filter: { types } });
  }

  private onTriggerEvents(events: readonly EventEnvelope[]): void {
    if (this.stopped || this.kernel.isClosed) return;
    const mine = new Set(this.kernel.ownDevices());
    const commands: CommandInput[] = [];
    for (const e of events) {
      if (!mine.has(e.device)) continue; // its writer fires it
      for (const c of this.eventContracts) {
        const t = c.trigger as Extract<Trigger, { kind: 'event' }>;
        if (t.type !== e.type || e.seq <= c.fromSeq || !matches(t.filter, e.payload, c.workspaceId)) continue;
        commands.push({ type: 'contract.trigger', payload: { id: c.id, instant: Date.parse(e.at), eventId: e.id }, idempotencyKey: eventFiringKey(c.id, e.id) });
      }
    }
    // One command per transaction: one firing's refusal (a bug) does not hold back the others.
    for (const cmd of commands) this.run(cmd);
  }

  /** Release buffered runs whose contract runs nothing now; cancel this device's duplicate runs. */
  private settlePending(): void {
    const p = ask(this.kernel, 'contract.pending', { devices: this.kernel.ownDevices() });
    for (const r of p.release) this.run({ type: 'contract.release', payload: r, idempotencyKey: `${r.key}/release` });
    for (const d of p.duplicates) {
      if (d.winner === null) continue;
      this.run({ type: 'session.cancel', payload: { sessionId: d.sessionId, reason: `Another device already ran this contract's firing ${d.key} (session ${d.winner}); this duplicate run was stopped.` }, idempotencyKey: `contract-duplicate/${d.sessionId}` });
    }
  }

  private run(cmd: CommandInput): void {
    try {
      this.kernel.systemBatch([cmd]);
    } catch (err) {
      // A duplicate that ended meanwhile cannot be cancelled: nothing left to do.
      if ((err as { code?: string }).code === 'invalid_state') return;
      this.options.onError?.(err);
    }
  }

  private onEvents(events: readonly EventEnvelope[]): void {
    if (this.stopped) return;
    const mine = new Set(this.kernel.ownDevices());
    const again = events.some((e) => RESCHEDULE.has(e.type) || SESSION_END.has(e.type) || (e.type.startsWith('contract.') && !mine.has(e.device)));
    if (!again || this.queued) return;
    this.queued = true;
    soon(() => {
      this.queued = false;
      this.tick();
    });
  }
}

/**
 * Whether an event's payload passes a contract's filter: every field (a dot path) equals the
 * value, or is an array that contains it; and a payload that names a workspace names the
 * contract's (events without one, like a session's step events, match in any workspace).
 */
export function matches(filter: { readonly [path: string]: unknown }, payload: unknown, workspaceId: string): boolean {
  const ws = field(payload, 'workspaceId');
  if (ws !== undefined && ws !== workspaceId) return false;
  for (const [path, want] of Object.entries(filter)) {
    const got = field(payload, path);
    if (Array.isArray(got) ? !got.includes(want) : got !== want) return false;
  }
  return true;
}

function field(payload: unknown, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as { [k: string]: unknown })[part];
  }
  return v;
}

/**
 * The relic service: probes every installed Relic's health check on its schedule and brings
 * Monuments up when asked (docs/manifests.md, "Relics and Monuments"). Started by worker/root.ts
 * next to the engine, on the engine's clock (tests use a ManualClock), stopped when the kernel
 * closes. Loaded on demand (its own chunk in the browser).
 *
 * Invariants:
 * 1. A Relic is probed at once when it is installed (or changed, or when the service starts), then
 *    `health.every` after each probe began; a probe never overlaps another of the same Relic. A
 *    probe gives up after `health.timeout` (a timer of the clock); healthy means the answer's
 *    status is `health.expectStatus`.
 * 2. Only a change of status is recorded (`relic.health.record`, which itself appends nothing for
 *    the recorded status); the last answer and the next due time are live facts (live.ts).
 * 3. Bring-ups requested by this device run here (also unfinished ones after a restart); every
 *    wait is bounded (bring-up.ts).
 * 4. Nothing here throws into the kernel: a failed record goes to `onError` and the probing goes on.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { systemClock, type Clock } from '../engine/clock.ts';
import { parseDuration } from '../workflow/duration.ts';
import { boardOf, relicKey, type LiveBoard, type ProbeFacts } from '../domains/manifests/live.ts';
import { manifestCode } from '../manifests/code.ts';
import type { RelicManifest } from '../manifests/schema.ts';
import { runBringUp, type BringUpContext } from './bring-up.ts';

export interface RelicServiceOptions {
  readonly clock?: Clock;
  /** How long a bring-up waits for a Relic to be healthy (default 30 s). */
  readonly waitMs?: number;
  /** Between probes while a bring-up waits (default 1 s). */
  readonly retryMs?: number;
  readonly onError?: (err: unknown) => void;
}

interface Watch {
  readonly key: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly version: string;
  readonly hash: string;
  readonly url: string;
  readonly everyMs: number;
  readonly timeoutMs: number;
  readonly expectStatus: number;
  timer?: unknown;
  inflight?: Promise<ProbeFacts>;
  stopped?: boolean;
}

type WatchList = { relics: { workspaceId: string; name: string; version: string; hash: string; source: string }[]; bringUps: { id: string; workspaceId: string; name: string; version: string; device: string }[] };

const ms = (v: unknown, fallback: number): number => {
  const d = parseDuration(v);
  return d.ok ? d.ms : fallback;
};

export class RelicService {
  private readonly clock: Clock;
  private readonly board: LiveBoard;
  private readonly watches = new Map<string, Watch>();
  private readonly running = new Set<string>();
  private readonly unsubscribe: () => void;
  private stopped = false;
  private seq = 0;

  private constructor(private readonly kernel: Kernel, private readonly options: RelicServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.board = boardOf(kernel.sql);
    const sub = kernel.subscribe((events) => this.onEvents(events));
    this.unsubscribe = () => sub.close();
    kernel.onClose(() => this.stop());
  }

  static start(kernel: Kernel, options: RelicServiceOptions = {}): RelicService {
    const service = new RelicService(kernel, options);
    const list = service.resync();
    const own = new Set(kernel.ownDevices());
    for (const b of list?.bringUps ?? []) if (own.has(b.device)) service.bringUp(b);
    return service;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    for (const w of this.watches.values()) this.unwatch(w);
  }

  /** Probe a Relic now (or join the probe in flight); undefined when it is not installed. */
  probeNow(workspaceId: string, name: string, version: string): Promise<ProbeFacts> | undefined {
    const w = this.watches.get(relicKey(workspaceId, name, version));
    return w ? this.probe(w) : undefined;
  }

  private onEvents(events: readonly EventEnvelope[]): void {
    if (this.stopped) return;
    let relicsChanged = false;
    const own = new Set(this.kernel.ownDevices());
    for (const e of events) {
      const p = e.payload as { kind?: string; id?: string; workspaceId: string; name: string; version: string };
      if ((e.type === 'manifest.applied' || e.type === 'manifest.removed') && p.kind === 'Relic') relicsChanged = true;
      if (e.type === 'monument.bring_up_requested' && own.has(e.device)) this.bringUp({ id: p.id!, workspaceId: p.workspaceId, name: p.name, version: p.version });
    }
    if (relicsChanged) this.resync();
  }

  /** Watch what is installed: new or changed Relics are probed at once, removed ones let go. */
  private resync(): WatchList | undefined {
    let list: WatchList;
    try {
      list = this.kernel.systemQuery('relic.watch_list', {}) as WatchList;
    } catch (err) {
      this.options.onError?.(err);
      return undefined;
    }
    const seen = new Set<string>();
    for (const r of list.relics) {
      const key = relicKey(r.workspaceId, r.name, r.version);
      seen.add(key);
      const old = this.watches.get(key);
      if (old?.hash === r.hash) continue;
      if (old) this.unwatch(old);
      const parsed = manifestCode.get().parseManifest(r.source);
      if (!parsed.ok || parsed.manifest.kind !== 'Relic') continue;
      const h = (parsed.manifest as RelicManifest).health;
      const w: Watch = { key, workspaceId: r.workspaceId, name: r.name, version: r.version, hash: r.hash, url: h.url, everyMs: ms(h.every, 60_000), timeoutMs: ms(h.timeout, 5_000), expectStatus: h.expectStatus };
      this.watches.set(key, w);
      void this.probe(w);
    }
    for (const w of [...this.watches.values()]) {
      if (!seen.has(w.key)) {
        this.unwatch(w);
        this.watches.delete(w.key);
        this.board.relics.delete(w.key);
      }
    }
    return list;
  }

  private unwatch(w: Watch): void {
    w.stopped = true;
    if (w.timer !== undefined) this.clock.clearTimer(w.timer);
    w.timer = undefined;
  }

  private probe(w: Watch): Promise<ProbeFacts> {
    if (w.inflight) return w.inflight;
    if (w.timer !== undefined) this.clock.clearTimer(w.timer);
    w.timer = undefined;
    const began = this.clock.now();
    w.inflight = this.ask(w).then((facts) => {
      w.inflight = undefined;
      if (w.stopped || this.stopped) return facts;
      const nextAt = began + w.everyMs;
      this.board.relics.set(w.key, { last: facts, nextAt: new Date(nextAt).toISOString() });
      this.record(w, facts);
      w.timer = this.clock.setTimer(() => {
        w.timer = undefined;
        if (!w.stopped && !this.stopped) void this.probe(w);
      }, nextAt - this.clock.now());
      return facts;
    });
    return w.inflight;
  }

  /** One request to the health URL, bounded by the Relic's timeout; never rejects. */
  private async ask(w: Watch): Promise<ProbeFacts> {
    const started = this.clock.now();
    const abort = new AbortController();
    let timedOut = false;
    const timer = this.clock.setTimer(() => {
      timedOut = true;
      abort.abort();
    }, w.timeoutMs);
    const done = (status: 'healthy' | 'unhealthy', extra: { error?: string; httpStatus?: number }): ProbeFacts => ({
      status, checkedAt: new Date(this.clock.now()).toISOString(), ms: Math.max(0, this.clock.now() - started), ...extra,
    });
    try {
      const res = await fetch(w.url, { method: 'GET', cache: 'no-store', redirect: 'follow', signal: abort.signal });
      void res.body?.cancel().catch(() => {});
      if (res.status === w.expectStatus) return done('healthy', { httpStatus: res.status });
      return done('unhealthy', { httpStatus: res.status, error: `${w.url} answered ${res.status}; a healthy ${w.name} answers ${w.expectStatus}.` });
    } catch (err) {
      if (timedOut) return done('unhealthy', { error: `${w.url} did not answer within ${w.timeoutMs / 1000} s (the health timeout).` });
      const why = err instanceof Error ? err.message.slice(0, 200) : String(err).slice(0, 200);
      return done('unhealthy', { error: `${w.url} could not be reached (${why}); check that ${w.name} runs and, in the browser, that it allows this app's origin (CORS).` });
    } finally {
      this.clock.clearTimer(timer);
    }
  }

  private record(w: Watch, facts: ProbeFacts): void {
    try {
      if (this.kernel.isClosed) return;
      this.kernel.systemBatch([{
        type: 'relic.health.record',
        payload: { workspaceId: w.workspaceId, name: w.name, version: w.version, status: facts.status, checkedAt: facts.checkedAt, ms: facts.ms,
          ...(facts.error !== undefined ? { error: facts.error.slice(0, 500) } : {}), ...(facts.httpStatus !== undefined ? { httpStatus: facts.httpStatus } : {}) },
        idempotencyKey: `relic-health/${this.kernel.deviceId}/${w.key}/${facts.checkedAt}/${++this.seq}`,
      }]);
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  private bringUp(req: { id: string; workspaceId: string; name: string; version: string }): void {
    if (this.running.has(req.id) || this.stopped) return;
    this.running.add(req.id);
    const ctx: BringUpContext = {
      kernel: this.kernel,
      clock: this.clock,
      waitMs: this.options.waitMs ?? 30_000,
      retryMs: this.options.retryMs ?? 1_000,
      probe: (name, version) => this.probeNow(req.workspaceId, name, version),
      publish: (steps) => this.board.bringUps.set(req.id, steps),
      stopped: () => this.stopped || this.kernel.isClosed,
    };
    void runBringUp(ctx, req).then((outcome) => {
      if (outcome === null || ctx.stopped()) return;
      this.kernel.systemBatch([{ type: 'monument.bring_up.finish', payload: { workspaceId: req.workspaceId, id: req.id, name: req.name, version: req.version, ...outcome }, idempotencyKey: `bring-up/${req.id}` }]);
    }).catch((err: unknown) => this.options.onError?.(err)).finally(() => {
      this.running.delete(req.id);
      this.board.bringUps.delete(req.id);
    });
  }
}

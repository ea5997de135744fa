/**
 * The sync client: bridges one Kernel and one Y.Doc (docs/sync-protocol.md, docs/sync.md). It
 * writes this device's chain into the doc's `chunks` map, sealed, and hands every chunk other
 * devices wrote to `kernel.ingest`. It knows nothing of the network: a SyncTransport says when
 * the doc is in sync with the relay's copy (y-websocket: worker/sync/websocket.ts).
 *
 * Invariants:
 * 1. The kernel log is the truth; the doc only carries sealed chunks. Nothing is deleted from
 *    the doc, and nothing of a chunk that does not open is ever handed to the kernel.
 * 2. The client publishes only this database's own chains (`kernel.ownDevices()`), and only
 *    after the transport was synced once with this doc: then the doc holds every key this device
 *    ever wrote, so it continues after the highest one and never writes a key twice. A range
 *    always seals to the same bytes, so even a repeat would write the same value.
 * 3. Chunks of this database's own chains are never ingested (the database is the truth for
 *    them, also for chains a repair cut short).
 * 4. One pump at a time: publishing and applying run in one async loop, re-run when something
 *    changes (a commit, a new key, the transport synced), so two ingests never overlap.
 * 5. Other devices' chunks are handed to ingest in batches of at most `ingestEvents` events
 *    (whole chunks), merged across devices by the clock of their first event, so events arrive
 *    close to merge order. Chunks ahead of a gap are handed anyway: ingest parks their events.
 *    Checkpoints whose events were parked are offered again with later batches. A device whose
 *    chain was refused gets nothing more handed, also in the rest of that pass.
 * 6. Never throws into its caller after the constructor (bad options, a closed kernel): every
 *    failure becomes a standing SyncProblem (docs/sync.md, "Status" says until when). A device
 *    removed elsewhere is refused as expected (no problem); this one removed is `device_removed`.
 */
import type * as Y from 'yjs';
import type { Kernel } from '../kernel/kernel.ts';
import { KernelError } from '../kernel/errors.ts';
import { mergeKey } from '../kernel/log/envelope.ts';
import type { WireCheckpoint } from '../kernel/log/ingest.ts';
import type { ChunkKeys } from './keys.ts';
import { chunkLength, nextChunk, openChunk, parseChunkKey, sealChunk, type ChunkContent, type ChunkKey } from './chunks.ts';
import type { SyncTransport, TransportState } from './transport.ts';
import { shortDevice, statusOf, type ProblemCode, type SyncProblem, type SyncStatus } from './status.ts';

/** The name of the map that holds the chunks. */
export const CHUNKS_MAP = 'chunks';
export const DEFAULT_CHUNK_EVENTS = 500;
export const DEFAULT_INGEST_EVENTS = 2_000;
/** Checkpoints kept to offer again while their events wait for a gap to fill. */
const MAX_PENDING_CHECKPOINTS = 1_000;

/** What the client uses of a kernel. */
export type SyncKernel = Pick<Kernel,
  'deviceId' | 'ownDevices' | 'ownHead' | 'exportChain' | 'checkpointsSettled' | 'ingest' | 'subscribe' | 'status' | 'quarantined' | 'recovery' | 'isClosed' | 'query' | 'hasQuery'>;

export interface SyncClientOptions {
  readonly kernel: SyncKernel;
  /** The room's doc: the client reads and writes its `chunks` map only. */
  readonly doc: Y.Doc;
  /** `deriveRoom(epochKey).chunkKeys`. */
  readonly chunkKeys: ChunkKeys;
  readonly transport: SyncTransport;
  /** Most events in one chunk. @default 500 */
  readonly chunkEvents?: number;
  /** Most events handed to one `kernel.ingest` (whole chunks; one larger chunk goes alone). @default 2000 */
  readonly ingestEvents?: number;
}

export class SyncClient {
  private readonly kernel: SyncKernel;
  private readonly map: Y.Map<unknown>;
  private readonly chunkEvents: number;
  private readonly ingestEvents: number;
  /** Every chunk key in the doc that parses, by key string. */
  private readonly keys = new Map<string, ChunkKey>();
  /** Chunks handed to ingest (or applied before this session started): never handed again. */
  private readonly handed = new Set<string>();
  private readonly refusedDevices = new Set<string>();
  private readonly problemsById = new Map<string, SyncProblem>();
  private pendingCheckpoints: WireCheckpoint[] = [];
  /** The last event of this device's chain to publish (an old epoch's room after a rotation). */
  private ownLimit = Number.MAX_SAFE_INTEGER;
  private syncedOnce = false;
  private running = true;
  private wanted = false;
  private pump: Promise<void> | null = null;
  private lastStatus = '';
  private readonly listeners = new Set<(s: SyncStatus) => void>();
  private readonly stops: (() => void)[] = [];

  /** Start syncing `kernel` through `doc`. Reads what the doc holds already; never throws after this. */
  constructor(private readonly options: SyncClientOptions) {
    this.kernel = options.kernel;
    this.map = options.doc.getMap(CHUNKS_MAP);
    this.chunkEvents = positive(options.chunkEvents, DEFAULT_CHUNK_EVENTS, 'chunkEvents');
    this.ingestEvents = positive(options.ingestEvents, DEFAULT_INGEST_EVENTS, 'ingestEvents');
    // What this database holds already counts as applied; chains refused earlier stay refused.
    const heads = new Map(this.kernel.status().devices.map((d) => [d.device, d.deviceSeq]));
    for (const q of this.kernel.quarantined()) this.refusedDevices.add(q.device);
    if (this.kernel.hasQuery('device.list')) {
      const self = (this.kernel.query('device.list') as { self: boolean; revoked: unknown }[]).find((d) => d.self);
      if (self?.revoked) this.removed();
    }
    for (const key of this.map.keys()) this.index(key, heads);
    const observer = (ev: Y.YMapEvent<unknown>, tr: Y.Transaction) => {
      for (const key of ev.keysChanged) this.index(key, null);
      if (tr.origin !== this) this.kick(); // its own writes need no new round
    };
    this.map.observe(observer);
    this.stops.push(() => this.map.unobserve(observer));
    const sub = this.kernel.subscribe((events) => {
      if (events.some((e) => e.device === this.kernel.deviceId)) this.kick();
    });
    this.stops.push(() => sub.close());
    this.stops.push(options.transport.onState((s) => this.onTransport(s)));
    this.onTransport(options.transport.state);
    this.kick();
  }

  /** The current status (also sent to `onStatus` listeners on every change). */
  status(): SyncStatus {
    return statusOf({
      running: this.running, transport: this.options.transport.state, toGo: this.toGo(), busy: this.pump !== null,
      problems: [...this.problemsById.values()],
    });
  }

  /** Call `listener` with every new status; returns the function that stops it. */
  onStatus(listener: (s: SyncStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The problems that stand, oldest first. */
  problems(): SyncProblem[] {
    return [...this.problemsById.values()];
  }

  /** True while the client is publishing or applying (`idle()` waits for it to end). */
  get busy(): boolean {
    return this.pump !== null;
  }

  /** Resolves once nothing is left to do for now (the pump is idle). */
  async idle(): Promise<void> {
    while (this.pump) await this.pump;
  }

  /**
   * Publish this device's chain only up to `deviceSeq` from now on (what it wrote before the
   * room's epoch ended: docs/sync-protocol.md, "Epochs"). Other devices' chunks still apply.
   */
  limitOwn(deviceSeq: number): void {
    this.ownLimit = Math.min(this.ownLimit, deviceSeq);
    this.kick();
  }

  /** Whether the doc holds this device's chain up to its head (or up to `limitOwn`). */
  get published(): boolean {
    return this.kernel.isClosed || this.publishedUpTo(this.kernel.deviceId) >= Math.min(this.ownLimit, this.kernel.ownHead.deviceSeq);
  }

  /** Stop: no more reads or writes of the kernel or the doc. Waits for the pump. Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return this.idle();
    this.running = false;
    for (const stop of this.stops.splice(0)) stop();
    await this.idle();
    this.emit();
  }

  private onTransport(s: TransportState): void {
    if (s.kind === 'synced') {
      this.syncedOnce = true;
      this.clear('relay');
    } else if (s.kind === 'refused') {
      this.raise('relay', 'relay_refused', `The relay refused this device: ${s.message}`, { code: s.code });
    }
    this.kick();
    this.emit();
  }

  /** Track one key of the map (added, changed or removed). `heads`: at start, what is applied already. */
  private index(key: string, heads: Map<string, number> | null): void {
    this.clear(`chunk:${key}`);
    this.handed.delete(key);
    if (!this.map.has(key)) {
      this.keys.delete(key);
      return;
    }
    const k = parseChunkKey(key);
    if (!k) {
      this.keys.delete(key);
      this.raise(`chunk:${key}`, 'chunk_refused', `A chunk with the malformed key ${JSON.stringify(key.slice(0, 80))} was ignored.`, { key, reason: 'bad_key' });
      return;
    }
    this.keys.set(key, k);
    if (heads && k.last <= (heads.get(k.device) ?? 0)) this.handed.add(key);
  }

  private kick(): void {
    this.wanted = true;
    if (this.pump || !this.running) return;
    this.pump = this.loop();
  }

  /**
   * The one round loop (invariant 4). Its last look at `wanted` and `pump = null` happen in one
   * synchronous stretch, so a change that comes while it runs is never left without a round.
   */
  private async loop(): Promise<void> {
    try {
      await Promise.resolve(); // never inside the caller's stack (a Yjs observer, a subscriber)
      while (this.wanted && this.running) {
        this.wanted = false;
        if (this.kernel.isClosed) {
          this.stopFromInside();
          return;
        }
        this.emit();
        await this.publish();
        if (!this.running || this.kernel.isClosed) continue;
        await this.apply();
      }
    } finally {
      this.pump = null;
      this.emit();
    }
  }

  private stopFromInside(): void {
    this.running = false;
    for (const stop of this.stops.splice(0)) stop();
  }

  /** Write this database's own chains after what the doc holds of them (invariant 2). */
  private async publish(): Promise<void> {
    // A database that failed its integrity check publishes nothing: its peers would quarantine it.
    if (this.kernel.recovery) {
      this.raise('read_only', 'database_read_only', 'Sync is paused: this database failed its integrity check and is read-only (see the Integrity page).', { reason: this.kernel.recovery.code });
      return;
    }
    this.clear('read_only');
    if (!this.syncedOnce) return;
    try {
      for (const device of this.kernel.ownDevices()) {
        const current = device === this.kernel.deviceId;
        let published = this.publishedUpTo(device);
        const ownHead = this.kernel.ownHead.deviceSeq;
        const head = current ? Math.min(ownHead, this.ownLimit) : Number.MAX_SAFE_INTEGER;
        if (current && published > ownHead) {
          this.raise('own', 'own_chain_behind_relay',
            `The shared document holds ${published - head} more events of this device than its database (was it restored from an older copy?); this device stops publishing until that is resolved.`,
            { device, published, head: ownHead });
          continue;
        }
        if (current) this.clear('own');
        while (published < head && this.running) {
          // Every checkpoint the chunk could carry is written: its content is final (chunks.ts, 5).
          await this.kernel.checkpointsSettled();
          const next = nextChunk(this.kernel, device, published, Math.min(this.chunkEvents, head - published));
          if (!next) break;
          const sealed = await sealChunk(this.options.chunkKeys, next.key, next.content);
          if (!this.running) return;
          if (this.map.has(next.key)) break; // the doc changed meanwhile: look again next round
          this.options.doc.transact(() => this.map.set(next.key, sealed), this);
          published = next.content.events[next.content.events.length - 1]!.deviceSeq;
        }
      }
      this.clear('publish');
    } catch (err) {
      this.raise('publish', 'publish_failed', `This device's changes could not be written for sync: ${messageOf(err)}`, { error: messageOf(err) });
    }
  }

  private publishedUpTo(device: string): number {
    let max = 0;
    for (const k of this.keys.values()) if (k.device === device && k.last > max) max = k.last;
    return max;
  }

  /** Open and hand to ingest every other device's chunk not handed yet (invariant 5). */
  private async apply(): Promise<void> {
    // Read-only (publish() reported it), or removed: the kernel takes nothing in.
    if (this.kernel.recovery || this.problemsById.has('removed')) return;
    const own = new Set(this.kernel.ownDevices());
    const queues = new Map<string, { key: string; range: ChunkKey }[]>();
    for (const [key, range] of this.keys) {
      if (own.has(range.device) || this.handed.has(key) || this.refusedDevices.has(range.device) || this.problemsById.has(`chunk:${key}`)) continue;
      (queues.get(range.device) ?? queues.set(range.device, []).get(range.device)!).push({ key, range });
    }
    for (const q of queues.values()) q.sort((a, b) => a.range.first - b.range.first);
    const next = new Map<string, { key: string; content: ChunkContent }>();
    let batch: { key: string; content: ChunkContent }[] = [];
    let size = 0;
    while (this.running) {
      for (const d of this.refusedDevices) { queues.delete(d); next.delete(d); } // refused in this pass (invariant 5)
      for (const [device, q] of queues) {
        while (!next.has(device) && q.length > 0) {
          const { key } = q.shift()!;
          const opened = await openChunk(this.options.chunkKeys, key, this.map.get(key));
          if (opened.ok) next.set(device, { key, content: opened.content });
          else this.raise(`chunk:${key}`, 'chunk_refused', `A chunk of device ${shortDevice(device)} (${key.slice(key.lastIndexOf('/') + 1)}) was refused and not applied: ${opened.message.slice(opened.message.indexOf(': ') + 2)}`,
            { key, device, reason: opened.reason });
        }
        if (q.length === 0 && !next.has(device)) queues.delete(device);
      }
      if (next.size === 0) break;
      // The chunk whose first event sorts first in merge order goes next.
      let best: [string, { key: string; content: ChunkContent }] | null = null;
      for (const entry of next) {
        if (!best || firstKey(entry[1].content) < firstKey(best[1].content)) best = entry;
      }
      const [device, chunk] = best!;
      next.delete(device);
      if (size > 0 && size + chunk.content.events.length > this.ingestEvents) {
        await this.ingest(batch);
        batch = [];
        size = 0;
        if (this.refusedDevices.has(device)) continue; // refused just now: handed again it would be `quarantined`, hiding why
      }
      batch.push(chunk);
      size += chunk.content.events.length;
    }
    if (batch.length > 0 && this.running) await this.ingest(batch);
  }

  private async ingest(batch: { key: string; content: ChunkContent }[]): Promise<void> {
    const events = batch.flatMap((c) => c.content.events);
    const offered = [...this.pendingCheckpoints, ...batch.flatMap((c) => c.content.checkpoints)];
    let report: Awaited<ReturnType<SyncKernel['ingest']>>;
    try {
      report = await this.kernel.ingest({ events, checkpoints: offered });
    } catch (err) {
      // Read-only outside recovery mode: this device was removed (also when its remover's chain was refused here).
      if (err instanceof KernelError && err.code === 'read_only' && !this.kernel.recovery) return this.removed();
      this.raise('ingest', 'ingest_failed', `Changes from other devices could not be applied: ${messageOf(err)}`,
        { error: err instanceof KernelError ? err.code : 'internal' });
      if (this.kernel.isClosed) this.stopFromInside();
      return;
    }
    this.clear('ingest');
    for (const c of batch) this.handed.add(c.key);
    for (const r of report.refused) {
      this.refusedDevices.add(r.device);
      // A device someone removed is expected to be refused from then on: not a problem to show.
      if (r.reason === 'device_revoked') continue;
      this.raise(`chain:${r.device}`, 'chain_refused',
        `Changes from device ${shortDevice(r.device)} were refused and nothing more of it is applied: ${r.message}`,
        { device: r.device, deviceSeq: r.deviceSeq, reason: r.reason });
    }
    const own = new Set(this.kernel.ownDevices());
    const refused = new Set(report.refused.map((r) => r.device));
    if (events.some((e) => e.type === 'device.revoked' && own.has(String((e.payload as { device?: unknown }).device)) && !refused.has(e.device))) this.removed();
    // Checkpoints dropped because their events were parked: offer them again later.
    if (report.parked > 0 || this.pendingCheckpoints.length > 0) {
      const heads = new Map(this.kernel.status().devices.map((d) => [d.device, d.deviceSeq]));
      this.pendingCheckpoints = offered.filter((c) => !this.refusedDevices.has(c.device) && c.deviceSeq > (heads.get(c.device) ?? 0)).slice(-MAX_PENDING_CHECKPOINTS);
    }
  }

  /** Another device removed this one (docs/devices.md): it stays so until paired again. */
  private removed(): void {
    this.raise('removed', 'device_removed', 'This device was removed from the workspace on another device: it keeps what it had but receives no more changes. Pair it again to rejoin.', {});
  }

  /** Events to go (SyncStatus.toGo). */
  private toGo(): number {
    if (!this.running) return 0;
    let n = 0;
    const own = new Set(this.kernel.isClosed ? [] : this.kernel.ownDevices());
    for (const [key, k] of this.keys) {
      if (!own.has(k.device) && !this.handed.has(key) && !this.refusedDevices.has(k.device) && !this.problemsById.has(`chunk:${key}`)) n += chunkLength(k);
    }
    if (!this.kernel.isClosed) n += Math.max(0, Math.min(this.ownLimit, this.kernel.ownHead.deviceSeq) - this.publishedUpTo(this.kernel.deviceId));
    return n;
  }

  private raise(id: string, code: ProblemCode, message: string, details: SyncProblem['details']): void {
    this.problemsById.delete(id); // re-inserted last: the newest problem is shown
    this.problemsById.set(id, { code, message, details });
    this.emit();
  }

  private clear(id: string): void {
    if (this.problemsById.delete(id)) this.emit();
  }

  private emit(): void {
    const s = this.status();
    const text = JSON.stringify(s);
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    for (const l of [...this.listeners]) l(s);
  }
}

function firstKey(c: ChunkContent): string {
  const e = c.events[0]!;
  return mergeKey(e.hlc, e.device);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < 1)) throw new TypeError(`SyncClient: ${name} must be a positive integer (got ${String(value)}).`);
  return value ?? fallback;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

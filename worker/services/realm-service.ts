/**
 * The realm service: the part of realms that talks to the network and to WebCrypto (both async),
 * outside the kernel, like the engine. It watches the log and acts for this device:
 *
 * - `realm.registered`, `realm.enabled`, `realm.refresh_requested` → fetch `<url>/index.json`,
 *   verify it against the pinned root and the trust state folded from the log (trust.ts), then
 *   issue `realm.index.accept` (which re-checks) or `realm.index.refuse`;
 * - `realm.install_approved` → download `<url>/packs/<sha256>` (size-limited, pack.ts), check
 *   size and SHA-256, hand the text to `realm.install.complete` (which checks everything else
 *   and installs all or nothing), or issue `realm.install.fail` with the reason.
 *
 * Invariants:
 * 1. It writes only through the kernel's commands; what it believes comes from the log.
 * 2. It acts on events written by this device only (another device's service acts on its own),
 *    so two devices never download for one approval. On start it resumes approved installs of
 *    this device that have neither a receipt nor a failure.
 * 3. One task at a time, in order (a queue): two refreshes of one realm never race.
 */
import type { Kernel } from '../kernel/kernel.ts';
import type { EventEnvelope } from '../kernel/log/envelope.ts';
import { KernelError } from '../kernel/errors.ts';
import type { InstallRow, RealmRow, TrustJson } from '../domains/realms/state.ts';
import { MAX_INDEX_BYTES, type RealmRoot } from '../realms/format.ts';
import { fetchPack, readLimited } from '../realms/pack.ts';
import { acceptIndex, type TrustState } from '../realms/trust.ts';

export interface RealmServiceOptions {
  /** The fetch to use (tests pass one that counts; default the global fetch). */
  readonly fetch?: typeof fetch;
  /** Epoch ms, for judging expiry (default Date.now). */
  readonly clock?: () => number;
  readonly onError?: (err: unknown) => void;
}

const newKey = (): string => `realm-svc-${crypto.randomUUID()}`;

export class RealmService {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private stopped = false;
  private waiters: (() => void)[] = [];
  private readonly fetchImpl: typeof fetch;
  private readonly clock: () => number;
  private readonly unsubscribe: () => void;

  private constructor(private readonly kernel: Kernel, private readonly options: RealmServiceOptions) {
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.clock = options.clock ?? Date.now;
    const sub = kernel.subscribe((events) => this.onEvents(events));
    this.unsubscribe = () => sub.close();
    kernel.onClose(() => this.stop());
  }

  static start(kernel: Kernel, options: RealmServiceOptions = {}): RealmService {
    const s = new RealmService(kernel, options);
    const mine = new Set(kernel.ownDevices());
    for (const r of kernel.systemQuery('realm.installs', { status: 'approved' }) as InstallRow[]) {
      if (r.approvedDevice !== null && mine.has(r.approvedDevice)) s.enqueue(() => s.install(r.requestId));
    }
    for (const r of kernel.systemQuery('realm.list', {}) as { id: string; refreshing: boolean }[]) if (r.refreshing) s.enqueue(() => s.refresh(r.id));
    return s;
  }

  /** Resolves when no task is queued or running. */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
  }

  private onEvents(events: readonly EventEnvelope[]): void {
    if (this.stopped) return;
    const mine = new Set(this.kernel.ownDevices());
    for (const e of events) {
      if (!mine.has(e.device)) continue;
      const p = e.payload as { id?: string; requestId?: string };
      if ((e.type === 'realm.registered' || e.type === 'realm.enabled' || e.type === 'realm.refresh_requested') && p.id) {
        const id = p.id;
        this.enqueue(() => this.refresh(id));
      }
      if (e.type === 'realm.install_approved' && p.requestId) {
        const id = p.requestId;
        this.enqueue(() => this.install(id));
      }
    }
  }

  private enqueue(task: () => Promise<void>): void {
    this.pending++;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.stopped && !this.kernel.isClosed) await task();
      } catch (err) {
        this.options.onError?.(err);
      } finally {
        this.pending--;
        if (this.pending === 0) for (const w of this.waiters.splice(0)) w();
      }
    });
  }

  private issue(type: string, payload: unknown): void {
    this.kernel.systemBatch([{ type, payload, idempotencyKey: newKey() }]);
  }

  /** Fetch, verify and record a realm's index (see the file header). */
  async refresh(id: string): Promise<void> {
    const t = this.kernel.systemQuery('realm.trust', { id }) as { realm: RealmRow; trust: TrustJson } | null;
    if (!t || !t.realm.enabled) return;
    const refuse = (code: string, message: string, incident: boolean, details: Record<string, unknown> = {}) => {
      if (!this.kernel.isClosed) this.issue('realm.index.refuse', { id, code, message, incident, details });
    };
    let envelope: unknown;
    try {
      const res = await this.fetchImpl(`${t.realm.url}/index.json`, { cache: 'no-store', redirect: 'follow' });
      if (!res.ok) return refuse('unreachable', `The realm answered ${res.status} for its index. Try again later or ask the realm's owner.`, false, { status: res.status });
      const { bytes, truncated } = await readLimited(res, Math.ceil(MAX_INDEX_BYTES * 1.4) + 4096);
      if (truncated) return refuse('malformed', "The realm's index file is larger than an index may be; it was refused.", false);
      envelope = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (err) {
      return refuse('unreachable', `The realm's index could not be read (${err instanceof Error ? err.message : String(err)}). Check the address and the connection, then refresh.`, false);
    }
    const state: TrustState = { ...t.trust, seen: new Map(t.trust.seen), publishers: new Map(t.trust.publishers) };
    const verdict = await acceptIndex(t.realm.root as RealmRoot, envelope, state, this.clock());
    if (!verdict.ok) return refuse(verdict.refusal.code, verdict.refusal.message, verdict.refusal.incident, { ...verdict.refusal.details });
    const index = verdict.index;
    try {
      this.issue('realm.index.accept', {
        id, version: index.version, digest: verdict.digest, issuedAt: index.issuedAt, expiresAt: index.expiresAt,
        ...(index.title ? { title: index.title } : {}), katas: index.katas, lookalikes: verdict.lookalikes,
      });
    } catch (err) {
      if (!(err instanceof KernelError) || err.code !== 'realm_refused') throw err;
      const code = String((err.details as { code?: unknown }).code ?? 'refused');
      refuse(code, err.message, code === 'rollback' || code === 'repointed', { ...(err.details as Record<string, unknown>) });
    }
  }

  /** Download, check and install an approved request (see the file header). */
  async install(requestId: string): Promise<void> {
    const row = (this.kernel.systemQuery('realm.installs', { status: 'approved' }) as InstallRow[]).find((r) => r.requestId === requestId);
    if (!row) return;
    const fail = (code: string, message: string) => {
      if (!this.kernel.isClosed) this.issue('realm.install.fail', { requestId, code, message: message.slice(0, 2000) });
    };
    const t = this.kernel.systemQuery('realm.trust', { id: row.realm }) as { realm: RealmRow } | null;
    if (!t) return fail('unreachable', `The realm "${row.realm}" was removed before the kata could be downloaded; nothing was installed.`);
    const entry = row.proposal.entry;
    const got = await fetchPack(`${t.realm.url}/packs/${entry.sha256}`, { ...entry, description: entry.description, tags: [...entry.tags] } as Parameters<typeof fetchPack>[1], this.fetchImpl);
    if (!got.ok) return fail(got.refusal.code, got.refusal.message);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(got.bytes);
    } catch {
      return fail('malformed_pack', `The pack of ${row.name}@${row.version} is not UTF-8 text; nothing was installed.`);
    }
    try {
      this.issue('realm.install.complete', { requestId, pack: text });
    } catch (err) {
      const e = KernelError.from(err);
      const code = e.code === 'install_refused' ? String((e.details as { code?: unknown }).code ?? e.code) : e.code;
      fail(code, e.message);
    }
  }
}

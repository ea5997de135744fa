/**
 * Device sync as the app runs it (docs/sync.md, "In the app"): one service per database owner
 * (the leader tab's worker, or a Node host) that keeps the settings and keys (a SyncStore), runs
 * the SyncClient over a RelayConnection to the current epoch's room, pairs devices, removes one
 * with a new epoch, and shares secrets sealed to the epoch key. Everything a screen needs is one
 * plain-data `SyncView`; everything a person does is one `SyncAction`.
 *
 * Invariants:
 * 1. The app never needs sync: with sync off the service holds no connection and writes nothing.
 * 2. Keys live in the store, never in the log; the log holds sealed boxes only (epochs.ts).
 * 3. One room at a time is current: the newest epoch this device holds a key for. After a
 *    rotation the old room gets this device's chain only up to what it wrote before it knew of
 *    the rotation (`SyncClient.limitOwn`), so a removed device reads nothing written after.
 * 4. This device announces its sealing key once the room is up to date (not before: a newcomer's
 *    own event would sort after all it has yet to take in).
 * 5. `act` never leaves a half-done change: a removal and its new epoch are one kernel batch.
 */
import * as Y from 'yjs';
import type { Kernel } from '../kernel/kernel.ts';
import { KernelError } from '../kernel/errors.ts';
import { uuidv7 } from '../kernel/ids.ts';
import { SyncClient } from './client.ts';
import { deriveRoom, newEpochKey } from './keys.ts';
import { RelayConnection } from './websocket.ts';
import { restingView, type SyncView } from './view.ts';
import { invitationText, newInvitation, parseInvitation, type Party } from './pairing.ts';
import { PairingSession, type PairingView } from './pairing-session.ts';
import { openEpoch, openSecret, sealEpoch, sealSecret } from './epochs.ts';
import type { SyncSettings, SyncStore } from './store.ts';

export type SyncAction =
  | { readonly kind: 'view' }
  | { readonly kind: 'enable'; readonly relayUrl: string }
  | { readonly kind: 'disable' }
  | { readonly kind: 'invite'; readonly appUrl: string }
  | { readonly kind: 'join'; readonly link: string; readonly name: string }
  | { readonly kind: 'confirm'; readonly accept: boolean }
  | { readonly kind: 'cancel_pairing' }
  | { readonly kind: 'remove_device'; readonly device: string; readonly reason?: string }
  | { readonly kind: 'share_secret'; readonly workspaceId: string; readonly name: string };

export type { SyncView } from './view.ts';

export interface SyncServiceOptions {
  readonly kernel: Kernel;
  readonly store: SyncStore;
  /** Node needs `ws`'s class; browsers have one. */
  readonly WebSocket?: unknown;
  readonly clock?: () => number;
  /** How long an old epoch's room stays connected after this device's chain reached it. @default 5 s */
  readonly retireAfterMs?: number;
}

interface Active {
  readonly epoch: number;
  readonly roomId: string;
  readonly client: SyncClient;
  readonly connection: RelayConnection;
  readonly unkeep: () => Promise<void>;
}

export class SyncService {
  private settings: SyncSettings;
  private active: Active | null = null;
  private readonly retiring = new Set<Active>();
  private pairing: PairingSession | null = null;
  private readonly listeners = new Set<(v: SyncView) => void>();
  private readonly clock: () => number;
  private unsubscribe: (() => void) | null = null;
  private work: Promise<void> = Promise.resolve();
  private announced = false;
  private stopped = false;

  private constructor(private readonly options: SyncServiceOptions, settings: SyncSettings) {
    this.settings = settings;
    this.clock = options.clock ?? Date.now;
  }

  /** Load the settings and, when sync is on, connect. Never throws for a relay that is down. */
  static async start(options: SyncServiceOptions): Promise<SyncService> {
    const s = new SyncService(options, await options.store.load());
    const sub = options.kernel.subscribe((events) => {
      if (events.some((e) => e.type === 'sync.epoch_rotated' || e.type === 'secret.shared')) s.later(() => s.onKeysChanged());
    });
    s.unsubscribe = () => sub.close();
    if (s.settings.enabled && s.settings.epochs.length > 0) await s.connect();
    s.later(() => s.onKeysChanged());
    return s;
  }

  view(): SyncView {
    const a = this.active;
    const live = a ? { room: a.roomId.slice(0, 12), status: a.client.status(), problems: a.client.problems() } : {};
    return { ...restingView(this.settings, this.options.kernel), ...live, pairing: this.pairing?.view ?? null };
  }

  onView(listener: (v: SyncView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Do what a person asked. Throws KernelError (invalid_payload, invalid_state, not_found) and changes nothing then. */
  async act(action: SyncAction): Promise<SyncView> {
    if (this.stopped) throw new KernelError('kernel_closed', 'Sync stopped with its database; reload the page.');
    switch (action.kind) {
      case 'view': break;
      case 'enable': await this.enable(action.relayUrl); break;
      case 'disable': await this.save({ ...this.settings, enabled: false }); await this.disconnect(); break;
      case 'invite': this.invite(action.appUrl); break;
      case 'join': this.join(action.link, action.name); break;
      case 'confirm': this.pairing?.confirm(action.accept); break;
      case 'cancel_pairing': this.pairing?.cancel(); break;
      case 'remove_device': await this.removeDevice(action.device, action.reason ?? ''); break;
      case 'share_secret': await this.shareSecret(action.workspaceId, action.name); break;
      default: throw new KernelError('invalid_payload', `Unknown sync action ${JSON.stringify((action as { kind?: unknown }).kind)}.`);
    }
    this.emit();
    return this.view();
  }

  /** Stop everything (before the kernel closes). Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.pairing?.cancel();
    await this.work.catch(() => {});
    await this.disconnect();
    for (const r of [...this.retiring]) await this.close(r);
  }

  // ---- settings and rooms ---------------------------------------------------------------------

  private async enable(relayUrl: string): Promise<void> {
    const url = relayUrl.trim().replace(/\/+$/, '');
    if (!/^wss?:\/\/[^\s/]+/.test(url)) {
      throw new KernelError('invalid_payload', 'A relay address starts with ws:// or wss:// (for example wss://relay.example.com/sync).', { relayUrl });
    }
    const epochs = this.settings.epochs.length > 0 ? this.settings.epochs : [{ epoch: 1, key: newEpochKey() }];
    await this.save({ enabled: true, relayUrl: url, epochs });
    await this.disconnect();
    await this.connect();
  }

  private async connect(): Promise<void> {
    const current = this.settings.epochs[this.settings.epochs.length - 1];
    if (!current || !this.settings.relayUrl || this.stopped) return;
    const room = await deriveRoom(current.key);
    const doc = new Y.Doc();
    const unkeep = (await this.options.store.keepDoc?.(room.roomId, doc)) ?? (async () => {});
    const connection = await RelayConnection.open({
      relayUrl: this.settings.relayUrl, room, doc, ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}),
    });
    const client = new SyncClient({ kernel: this.options.kernel, doc, chunkKeys: room.chunkKeys, transport: connection });
    const active: Active = { epoch: current.epoch, roomId: room.roomId, client, connection, unkeep };
    this.active = active;
    client.onStatus((s) => {
      if (s.state === 'up_to_date' && this.active === active) this.later(() => this.announce());
      this.emit();
    });
    this.emit();
  }

  private async disconnect(): Promise<void> {
    const a = this.active;
    this.active = null;
    if (a) await this.close(a);
    this.emit();
  }

  private async close(a: Active): Promise<void> {
    this.retiring.delete(a);
    await a.client.stop();
    a.connection.close();
    await a.unkeep();
  }

  /** The old room keeps this device's chain up to `upTo`, then goes once it reached the relay. */
  private retire(a: Active, upTo: number): void {
    this.retiring.add(a);
    a.client.limitOwn(upTo);
    const check = () => {
      if (!this.retiring.has(a)) return;
      if (a.client.published && a.connection.state.kind === 'synced') {
        // Gone for good: its kept copy too (the new room holds every chain again).
        setTimeout(() => void this.close(a).then(() => this.options.store.dropDoc?.(a.roomId)), this.options.retireAfterMs ?? 5_000);
      }
      else setTimeout(check, 500);
    };
    check();
  }

  private async save(s: SyncSettings): Promise<void> {
    await this.options.store.save(s);
    this.settings = s;
  }

  // ---- pairing ------------------------------------------------------------------------------

  private me(): Party {
    const self = (this.options.kernel.query('device.list') as { self: boolean; name: string | null }[]).find((d) => d.self);
    return { device: this.options.kernel.deviceId, name: self?.name ?? 'Unnamed device' };
  }

  private startPairing(make: (onView: (v: PairingView) => void) => PairingSession): void {
    if (this.pairing && !this.pairing.ended) this.pairing.cancel();
    this.pairing = make(() => this.emit());
  }

  private invite(appUrl: string): void {
    const relay = this.settings.relayUrl;
    if (!this.settings.enabled || !relay) throw new KernelError('invalid_state', 'Turn sync on (with a relay address) before inviting a device.');
    const invitation = newInvitation(relay, this.options.kernel.deviceId, this.clock());
    const link = `${appUrl.replace(/#.*$/, '')}#pair=${invitationText(invitation)}`;
    const ctx = { invitation, me: this.me(), clock: this.clock, ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}) };
    this.startPairing((onView) => PairingSession.invite({ ...ctx, onView }, link, this.settings.epochs, async (joiner) => {
      this.options.kernel.command({ type: 'device.add', payload: { device: joiner.device, name: joiner.name }, idempotencyKey: `device-add:${joiner.device}:${uuidv7()}` });
    }));
  }

  private join(link: string, name: string): void {
    const text = link.includes('#pair=') ? link.slice(link.indexOf('#pair=') + 6) : link.trim();
    const parsed = parseInvitation(text, this.clock());
    if (!parsed.ok) throw new KernelError('invalid_payload', parsed.message, { reason: parsed.code });
    if (parsed.invitation.inviter === this.options.kernel.deviceId) throw new KernelError('invalid_state', 'This link was made on this device: open it on the device you want to add.');
    const trimmed = name.trim();
    if (!trimmed) throw new KernelError('invalid_payload', 'Give this device a name the other device will show (for example "Tablet").');
    const ctx = { invitation: parsed.invitation, me: { device: this.options.kernel.deviceId, name: trimmed }, clock: this.clock,
      ...(this.options.WebSocket ? { WebSocket: this.options.WebSocket } : {}) };
    this.startPairing((onView) => PairingSession.join({ ...ctx, onView }, async (j) => {
      // No write of its own here: the inviter's device.add names this device, and an own event now
      // would sort after all the history this device has yet to take in (decision 31).
      await this.save({ enabled: true, relayUrl: j.relay, epochs: j.epochs });
      this.announced = false;
      await this.disconnect();
      await this.connect();
    }));
  }

  // ---- epochs -------------------------------------------------------------------------------

  private async announce(): Promise<void> {
    if (this.announced || this.stopped || this.options.kernel.isClosed || this.options.kernel.recovery) return;
    const key = await this.options.store.sealingKey();
    const mine = (this.options.kernel.query('sync.keys') as { device: string; publicKey: string }[]).find((r) => r.device === this.options.kernel.deviceId);
    if (mine?.publicKey !== key.publicKey) {
      this.options.kernel.command({ type: 'sync.announce_key', payload: { publicKey: key.publicKey }, idempotencyKey: `sync-key:${key.publicKey.slice(0, 32)}` });
    }
    this.announced = true;
  }

  private async removeDevice(device: string, reason: string): Promise<void> {
    const k = this.options.kernel;
    const revoke = { type: 'device.revoke', payload: { device, reason }, idempotencyKey: uuidv7() };
    const current = this.settings.epochs[this.settings.epochs.length - 1];
    if (!this.settings.enabled || !current) {
      k.command(revoke);
      return;
    }
    await this.rotate(revoke);
  }

  /** Start the next epoch (with `revoke` in the same batch): its key sealed to every remaining device. */
  private async rotate(revoke: { type: string; payload: { device: string; reason: string }; idempotencyKey: string } | null): Promise<void> {
    const k = this.options.kernel;
    const current = this.settings.epochs[this.settings.epochs.length - 1]!;
    const known = (k.query('sync.epochs') as { epoch: number }[]).reduce((m, r) => Math.max(m, r.epoch), current.epoch);
    const epoch = known + 1;
    const key = newEpochKey();
    const removed = new Set((k.query('device.list') as { device: string; revoked: unknown }[]).filter((d) => d.revoked).map((d) => d.device));
    if (revoke) removed.add(revoke.payload.device);
    const recipients = (k.query('sync.keys') as { device: string; publicKey: string }[]).filter((r) => !removed.has(r.device) && r.device !== k.deviceId);
    const sealed = await sealEpoch(key, epoch, recipients);
    const rotation = { type: 'sync.rotate_epoch', payload: { epoch, ...sealed, removed: revoke?.payload.device ?? null }, idempotencyKey: uuidv7() };
    k.commandBatch(revoke ? [revoke, rotation] : [rotation]);
    // The rotation is this device's newest event: the old room gets it, and nothing after it.
    await this.switchTo({ epoch, key }, k.ownHead.deviceSeq);
  }

  /** Move to a newer epoch: save its key, retire the old room, connect the new one. */
  private async switchTo(e: { epoch: number; key: Uint8Array }, ownUpTo: number): Promise<void> {
    await this.save({ ...this.settings, epochs: [...this.settings.epochs.filter((x) => x.epoch !== e.epoch), e] });
    const old = this.active;
    this.active = null;
    if (old) this.retire(old, ownUpTo);
    await this.connect();
  }

  /** A rotation or a share arrived: take new epoch keys meant for this device, then open shares. */
  private async onKeysChanged(): Promise<void> {
    const k = this.options.kernel;
    if (this.stopped || k.isClosed || !this.settings.enabled || !k.hasQuery('sync.epochs')) return;
    const have = this.settings.epochs[this.settings.epochs.length - 1]?.epoch ?? 0;
    const rows = k.query('sync.epochs') as { epoch: number; by: string; ephemeral: string; boxes: Record<string, string> }[];
    const winners = new Map<number, (typeof rows)[number]>();
    for (const r of rows) if (!winners.has(r.epoch)) winners.set(r.epoch, r);
    // Two rotations of one epoch at once: the earlier counts, so a device whose own lost takes the winner's key.
    const lost = (epoch: number) => winners.get(epoch)?.by !== k.deviceId && rows.some((r) => r.epoch === epoch && r.by === k.deviceId);
    const next = [...winners.values()].filter((r) => r.epoch > have || (r.epoch === have && lost(have))).pop();
    if (next) {
      const key = await openEpoch(next, k.deviceId, await this.options.store.sealingKey());
      const held = this.settings.epochs.find((x) => x.epoch === next.epoch)?.key;
      if (key && !(held && held.every((b, i) => b === key[i]))) await this.switchTo({ epoch: next.epoch, key }, k.ownHead.deviceSeq);
    }
    // If the winner still has a box for a device removed since, the device whose rotation lost starts the next epoch without it.
    const current = this.settings.epochs.at(-1);
    const winner = current ? winners.get(current.epoch) : undefined;
    const removed = new Set((k.query('device.list') as { device: string; revoked: unknown }[]).filter((d) => d.revoked).map((d) => d.device));
    if (current && winner && lost(current.epoch) && Object.keys(winner.boxes).some((d) => removed.has(d))) await this.rotate(null);
    await this.openShares();
  }

  // ---- shared secrets -----------------------------------------------------------------------

  private async shareSecret(workspaceId: string, name: string): Promise<void> {
    const current = this.settings.epochs[this.settings.epochs.length - 1];
    if (!this.settings.enabled || !current) throw new KernelError('invalid_state', 'Turn sync on and pair a device before sharing a secret with it.');
    const k = this.options.kernel;
    const values = k.systemQuery('secret.values', { workspaceId }) as Record<string, string>;
    const value = values[name];
    if (value === undefined) throw new KernelError('not_found', `There is no secret named ${name} on this device to share.`, { name, workspaceId });
    const sealed = await sealSecret(current.key, current.epoch, workspaceId, name, value);
    k.command({ type: 'secret.share', payload: { workspaceId, name, epoch: current.epoch, sealed }, idempotencyKey: uuidv7() });
  }

  private async openShares(): Promise<void> {
    const k = this.options.kernel;
    for (const s of k.systemQuery('secret.shares') as { workspaceId: string; name: string; epoch: number; sealed: string; at: string }[]) {
      const e = this.settings.epochs.find((x) => x.epoch === s.epoch);
      const value = e ? await openSecret(e.key, s.epoch, s.workspaceId, s.name, s.sealed) : null;
      if (value === null || this.stopped || k.isClosed) continue;
      k.systemBatch([{ type: 'secret.receive', payload: { workspaceId: s.workspaceId, name: s.name, value, at: s.at }, idempotencyKey: `secret-receive:${s.workspaceId}/${s.name}@${s.at}` }]);
    }
  }

  // ---- plumbing -----------------------------------------------------------------------------

  /** Run `fn` after the work before it (never inside a kernel subscriber's stack). */
  private later(fn: () => Promise<void>): void {
    this.work = this.work.then(fn).catch((err) => console.warn('kingdom: sync', err)).then(() => this.emit());
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const v = this.view();
    for (const l of [...this.listeners]) l(v);
  }
}

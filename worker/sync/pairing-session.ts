/**
 * One pairing as a person lives it (docs/sync.md, "Pairing"): the protocol of pairing.ts run over
 * a relay connection to the pairing room, as a view a screen can show (waiting for the other
 * device, the code to compare, waiting for the other side to confirm, done or failed) and the
 * person's answer (`confirm`).
 *
 * Invariants:
 * 1. A session ends once (done, failed, or cancelled) and then closes its connection; its view
 *    stays readable until the next pairing starts.
 * 2. It never outlives its invitation: at the expiry it fails with `pairing_expired`.
 * 3. The person's confirmation is asked for once per session; `confirm` outside the compare step
 *    changes nothing.
 */
import * as Y from 'yjs';
import { PAIR_MAP, invite, join, mapMailbox, pairingRoom, type EpochKeys, type Invitation, type Party } from './pairing.ts';
import { RelayConnection } from './websocket.ts';

export type PairingView =
  | { readonly role: 'inviter'; readonly step: 'waiting'; readonly link: string; readonly expiresAt: number }
  | { readonly role: 'joiner'; readonly step: 'waiting'; readonly expiresAt: number }
  | { readonly role: 'inviter' | 'joiner'; readonly step: 'compare'; readonly code: string; readonly other: Party; readonly expiresAt: number }
  | { readonly role: 'inviter' | 'joiner'; readonly step: 'confirmed'; readonly code: string; readonly other: Party; readonly expiresAt: number }
  | { readonly role: 'inviter' | 'joiner'; readonly step: 'done'; readonly other: Party }
  | { readonly role: 'inviter' | 'joiner'; readonly step: 'failed'; readonly code: string; readonly message: string };

export type Joined = { readonly epochs: EpochKeys; readonly relay: string; readonly inviter: Party };

export interface PairingContext {
  readonly invitation: Invitation;
  readonly me: Party;
  readonly WebSocket?: unknown;
  readonly clock: () => number;
  readonly onView: (v: PairingView) => void;
}

export class PairingSession {
  private current: PairingView;
  private answer: ((accept: boolean) => void) | null = null;
  private readonly abort = new AbortController();
  private connection: RelayConnection | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  private constructor(private readonly ctx: PairingContext, private readonly role: 'inviter' | 'joiner', link: string) {
    const { expiresAt } = ctx.invitation;
    this.current = role === 'inviter' ? { role, step: 'waiting', link, expiresAt } : { role, step: 'waiting', expiresAt };
  }

  get view(): PairingView {
    return this.current;
  }

  get ended(): boolean {
    return this.current.step === 'done' || this.current.step === 'failed';
  }

  /** Invite: resolves with the device that joined (after both people confirmed), or null. */
  static invite(ctx: PairingContext, link: string, epochs: EpochKeys, onJoined: (joiner: Party) => Promise<void>): PairingSession {
    const s = new PairingSession(ctx, 'inviter', link);
    void s.run(async (box, confirm, signal) => {
      const r = await invite(ctx.invitation, box, ctx.me, epochs, confirm, signal);
      if (!r.ok) return r;
      await onJoined(r.joiner);
      return { ok: true as const, other: r.joiner };
    });
    return s;
  }

  /** Join: `onWelcome` gets the epoch keys once both people confirmed. */
  static join(ctx: PairingContext, onWelcome: (j: Joined) => Promise<void>): PairingSession {
    const s = new PairingSession(ctx, 'joiner', '');
    void s.run(async (box, confirm, signal) => {
      const r = await join(ctx.invitation, box, ctx.me, confirm, signal);
      if (!r.ok) return r;
      await onWelcome({ epochs: r.epochs, relay: r.relay, inviter: r.inviter });
      return { ok: true as const, other: r.inviter };
    });
    return s;
  }

  /** The person's answer to the code shown (compare step only). */
  confirm(accept: boolean): void {
    const v = this.current;
    if (v.step !== 'compare' || !this.answer) return;
    const answer = this.answer;
    this.answer = null;
    if (accept) this.set({ ...v, step: 'confirmed' });
    answer(accept);
  }

  cancel(): void {
    if (this.ended) return;
    this.fail('pairing_cancelled', 'Pairing was cancelled on this device; nothing was shared.');
  }

  private async run(protocol: (box: ReturnType<typeof mapMailbox>, confirm: (code: string, other: Party) => Promise<boolean>, signal: AbortSignal) =>
    Promise<{ ok: true; other: Party } | { ok: false; code: string; message: string }>): Promise<void> {
    const { invitation, clock } = this.ctx;
    this.timer = setTimeout(() => this.fail('pairing_expired', 'The pairing link expired before both devices confirmed. Make a new one and try again.'),
      Math.max(0, invitation.expiresAt - clock()));
    try {
      const doc = new Y.Doc();
      const room = await pairingRoom(invitation);
      this.connection = await RelayConnection.open({ relayUrl: invitation.relay, room, doc, ...(this.ctx.WebSocket ? { WebSocket: this.ctx.WebSocket } : {}) });
      this.connection.onState((s) => {
        if (s.kind === 'refused') this.fail('pairing_relay_refused', `The relay refused the pairing: ${s.message}`);
      });
      if (this.ended) return this.close();
      const confirm = (code: string, other: Party) => new Promise<boolean>((resolve) => {
        this.answer = resolve;
        this.set({ role: this.role, step: 'compare', code, other, expiresAt: invitation.expiresAt });
      });
      const r = await protocol(mapMailbox(doc.getMap<Uint8Array>(PAIR_MAP)), confirm, this.abort.signal);
      if (this.ended) return;
      if (r.ok) this.set({ role: this.role, step: 'done', other: r.other });
      else this.fail(r.code, r.message);
    } catch (err) {
      if (!this.ended) this.fail('pairing_failed', `Pairing failed: ${err instanceof Error ? err.message : String(err)}. Start again with a new link.`);
    } finally {
      // The last message (welcome, joined) must reach the relay before the connection goes.
      setTimeout(() => this.close(), 1_500);
    }
  }

  private fail(code: string, message: string): void {
    if (this.ended) return;
    this.set({ role: this.role, step: 'failed', code, message });
    this.answer?.(false);
    this.answer = null;
    this.abort.abort(new Error(message));
    this.close();
  }

  private set(v: PairingView): void {
    this.current = v;
    if (this.ended && this.timer) clearTimeout(this.timer);
    this.ctx.onView(v);
  }

  private close(): void {
    this.connection?.close();
    this.connection = null;
  }
}

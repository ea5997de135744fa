/**
 * The sync view while no room is connected and no pairing is under way: what the SyncService
 * shows then, and what the light front (front.ts) shows before the service is loaded. One
 * function for both, so the two cannot differ.
 */
import type { Kernel } from '../kernel/kernel.ts';
import { statusOf, type SyncProblem, type SyncStatus } from './status.ts';
import type { PairingView } from './pairing-session.ts';
import type { SyncSettings } from './store.ts';

/** What the sync service shows (plain data, for every tab). */
export interface SyncView {
  readonly enabled: boolean;
  readonly relayUrl: string | null;
  /** The current epoch's number (1 for the first key), null before sync was turned on. */
  readonly epoch: number | null;
  /** The first 12 characters of the room id (all the relay learns). */
  readonly room: string | null;
  readonly status: SyncStatus;
  readonly problems: readonly SyncProblem[];
  readonly pairing: PairingView | null;
  /** Devices that never announced a sealing key: a new epoch cannot reach them (pair them again). */
  readonly unreachable: readonly string[];
}

export const OFF: SyncStatus = statusOf({ running: false, transport: { kind: 'connecting' }, toGo: 0, busy: false, problems: [] });

/** Devices that never announced a sealing key: a new epoch cannot reach them (pair them again). */
export function unreachableDevices(k: Kernel): string[] {
  if (k.isClosed || !k.hasQuery('sync.keys')) return [];
  const keyed = new Set((k.query('sync.keys') as { device: string }[]).map((r) => r.device));
  return (k.query('device.list') as { device: string; self: boolean; revoked: unknown }[])
    .filter((d) => !d.self && !d.revoked && !keyed.has(d.device)).map((d) => d.device);
}

export function restingView(settings: SyncSettings, kernel: Kernel): SyncView {
  const current = settings.epochs[settings.epochs.length - 1];
  return {
    enabled: settings.enabled, relayUrl: settings.relayUrl, epoch: current?.epoch ?? null,
    room: null, status: OFF, problems: [], pairing: null, unreachable: unreachableDevices(kernel),
  };
}

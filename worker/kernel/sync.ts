/**
 * The kernel's side of sync that a relay asks for: a device's chain (exportChain) and the chains
 * ingest refused (quarantined). Taking events in is sync-ingest.ts.
 */
import type { Sql } from './db/sql.ts';
import type { EventStore } from './log/event-store.ts';
import type { WireEvent } from './log/envelope.ts';
import type { Refusal, WireCheckpoint } from './log/ingest.ts';
import { deviceCheckpoints } from './log/checkpoint.ts';

/** One device's events (as stored, without local positions) and signed checkpoints after a chain position. */
export function exportChain(k: { readonly sql: Sql; readonly store: EventStore }, device: string, afterDeviceSeq: number, limit: number): { events: WireEvent[]; checkpoints: WireCheckpoint[] } {
  const events = k.store.readStoredChain(device, afterDeviceSeq, limit).map(({ seq: _s, streamSeq: _ss, ...w }): WireEvent => w);
  const last = events.length > 0 ? events[events.length - 1]!.deviceSeq : afterDeviceSeq;
  const checkpoints = deviceCheckpoints(k.sql, device)
    .filter((c) => c.deviceSeq > afterDeviceSeq && c.deviceSeq <= last)
    .flatMap(({ seq: _s, format, ...c }) => (format === 2 ? [{ ...c, format }] : []));
  return { events, checkpoints };
}

/** Chains refused by ingest, oldest first. */
export function quarantined(sql: Sql): (Refusal & { at: string })[] {
  return sql.all('SELECT device, device_seq, reason, message, at FROM quarantine ORDER BY id').map((r) => ({
    code: 'chain_refused' as const, device: String(r['device']), deviceSeq: Number(r['device_seq']),
    reason: String(r['reason']), message: String(r['message']), at: String(r['at']),
  }));
}

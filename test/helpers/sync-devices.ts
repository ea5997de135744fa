/**
 * Devices for the sync client's tests: a kernel, its own Y.Doc linked in-process to a relay's
 * Y.Doc (Y.applyUpdate both ways, what a connection does), a ManualTransport and a SyncClient.
 */
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { memKernel, newKey, type Kernel } from './kernel.ts';
import { fileAdapter } from '../../worker/node/file-adapter.ts';
import type { Room } from '../../worker/sync/keys.ts';
import { SyncClient, CHUNKS_MAP } from '../../worker/sync/client.ts';
import { ManualTransport } from '../../worker/sync/transport.ts';

export interface Device { k: Kernel; doc: Y.Doc; transport: ManualTransport; client: SyncClient; unlink(): void }

/** Link `doc` to the relay's doc both ways (what a connection does), now and for every update. */
export function link(doc: Y.Doc, relay: Y.Doc): () => void {
  const toRelay = (u: Uint8Array, origin: unknown) => { if (origin !== relay) Y.applyUpdate(relay, u, doc); };
  const fromRelay = (u: Uint8Array, origin: unknown) => { if (origin !== doc) Y.applyUpdate(doc, u, relay); };
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(relay, Y.encodeStateVector(doc)), relay);
  Y.applyUpdate(relay, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(relay)), doc);
  doc.on('update', toRelay);
  relay.on('update', fromRelay);
  return () => { doc.off('update', toRelay); relay.off('update', fromRelay); };
}

export async function device(relay: Y.Doc, room: Room, opts: { k?: Kernel; chunkEvents?: number; ingestEvents?: number; synced?: boolean } = {}): Promise<Device> {
  const k = opts.k ?? await memKernel();
  const doc = new Y.Doc();
  const transport = new ManualTransport();
  const unlink = link(doc, relay);
  const client = new SyncClient({ kernel: k, doc, chunkKeys: room.chunkKeys, transport, chunkEvents: opts.chunkEvents ?? 500, ingestEvents: opts.ingestEvents ?? 2000 });
  if (opts.synced !== false) transport.set({ kind: 'synced' });
  return { k, doc, transport, client, unlink };
}

/** Let every client run until none has anything left to do. */
export async function settleAll(ds: readonly Device[]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await new Promise((r) => setImmediate(r));
    const busy = ds.map((d) => d.client.status()).some((s) => s.state === 'syncing' || (s.toGo > 0 && s.state !== 'problem'));
    await Promise.all(ds.map((d) => d.client.idle()));
    if (!busy && round > 1) return;
  }
}

export const mergeOrder = (k: Kernel) => k.sql.all("SELECT hash FROM events ORDER BY (hlc || '|' || device)").map((r) => String(r['hash']));
export const eventsOf = (k: Kernel, device: string) => k.exportChain(device, 0).events.length;
export const parkedIn = (k: Kernel) => Number(k.sql.value('SELECT COUNT(*) FROM ingest_parked'));
export const note = (k: Kernel, i: number) => k.command({ type: 'forest.node.create', payload: { title: `n${i}`, body: 'body', tags: [] }, idempotencyKey: newKey() });

/** Change one event's payload in a closed database file, as someone with the file could. */
export async function editEvent(file: string, deviceSeq: number): Promise<void> {
  const o = await fileAdapter(file).open();
  o.db.exec('DROP TRIGGER IF EXISTS events_append_only_update');
  o.db.exec({ sql: `UPDATE events SET payload = json_set(payload, '$.title', 'edited') WHERE device_seq = ?`, bind: [deviceSeq] });
  await o.close();
}

/** The doc's keys of `k`'s chain cover 1..head exactly once, each at most `max` events. */
export function assertChunksTile(relay: Y.Doc, k: Kernel, max: number): void {
  const ranges = [...relay.getMap(CHUNKS_MAP).keys()].filter((key) => key.startsWith(`${k.deviceId}/`))
    .map((key) => key.slice(key.lastIndexOf('/') + 1).split('-').map(Number) as [number, number]).sort((x, y) => x[0] - y[0]);
  let next = 1;
  for (const [first, last] of ranges) {
    assert.equal(first, next, `contiguous: ${JSON.stringify(ranges)}`);
    assert.ok(last - first + 1 <= max, `at most ${max} events: ${JSON.stringify(ranges)}`);
    next = last + 1;
  }
  assert.equal(next - 1, k.ownHead.deviceSeq, 'up to the head');
}

export async function closeAll(ds: readonly Device[]): Promise<void> {
  for (const d of ds) { await d.client.stop(); d.unlink(); await d.k.close(); }
}

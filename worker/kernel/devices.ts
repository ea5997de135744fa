/**
 * The devices of this log: each registers its signing key in its own chain; a device already in
 * the workspace records a new one when it is paired (`device.added`), any device can name one
 * (`device.named`) and remove one (`device.revoked`).
 *
 * Invariants:
 * 1. A revocation takes effect at its place in the merge order: events the removed device wrote
 *    that sort after it are not applied to any projection (the registry skips them, also when the
 *    revocation arrives after them: the projections are then re-derived) and ingest refuses new
 *    ones (`device_revoked`). Events it wrote before stay: a removed device keeps what it had, and
 *    what it did before it was removed stays done.
 * 2. The earliest revocation of a device in merge order is the one that counts.
 * 3. A device cannot remove itself (another device does that), and only a device known here (with
 *    events here, or added) can be removed.
 */
import { z } from 'zod';
import { KernelError } from './errors.ts';
import { defineCommands, defineQuery, type EventDefinition, type Projection, type Reader } from './module.ts';
import { mergeKey, ORD_SQL } from './log/envelope.ts';
import { hlcMillis } from './log/hlc.ts';

export const DEVICES_PROJECTION = 'kernel_devices';

const deviceId = z.string().min(1).max(200);
const name = z.string().trim().min(1, 'must not be empty').max(80);

const added = z.strictObject({ device: deviceId, name, addedBy: deviceId });
const named = z.strictObject({ device: deviceId, name });
const revoked = z.strictObject({ device: deviceId, reason: z.string().trim().max(500) });

export const deviceEvents: EventDefinition[] = [
  { type: 'device.added', version: 1, schema: added, description: 'A device joined this workspace, recorded by the device that paired it.' },
  { type: 'device.named', version: 1, schema: named, description: 'A device was given a name people recognise.', concurrent: 'Two names at once: the later in merge order wins.' },
  {
    type: 'device.revoked', version: 1, schema: revoked,
    description: 'A device was removed: what it writes after this, in merge order, is not applied and not accepted.',
    concurrent: 'Removed twice at once: the earlier removal in merge order counts.',
  },
];

const stream = (device: string) => `device:${device}`;

/** Whether `device` has events here or was added: the devices that may be named or removed. */
function known(read: Reader, device: string): boolean {
  return read.value('SELECT 1 FROM events WHERE device = ? LIMIT 1', [device]) !== undefined
    || read.value('SELECT 1 FROM kernel_devices WHERE device = ?', [device]) !== undefined;
}

export const deviceCommands = defineCommands([
  {
    type: 'device.add',
    description: 'Record that a device joined (after pairing it on this device): its id and a name.',
    concurrent: 'Added on two devices at once: one device, both records kept; the later name wins.',
    schema: z.strictObject({ device: deviceId, name }),
    mutates: true,
    audit: 'device.added',
    target: (p: { device: string }) => stream(p.device),
    decide: (_s: unknown, p: { device: string; name: string }, ctx) => {
      if (p.device === ctx.device) throw new KernelError('invalid_state', 'This device is already part of its own log; pair another device to add it.', { device: p.device });
      return { events: [{ stream: stream(p.device), type: 'device.added', payload: { device: p.device, name: p.name, addedBy: ctx.device } }], value: { device: p.device } };
    },
  },
  {
    type: 'device.name',
    description: 'Give a device a name people recognise (this device when `device` is left out).',
    concurrent: 'Two names at once: the later in merge order wins.',
    schema: z.strictObject({ device: deviceId.optional(), name }),
    mutates: true,
    load: (read, p: { device?: string }) => ({ known: p.device === undefined || known(read, p.device) }),
    decide: (s: { known: boolean }, p: { device?: string; name: string }, ctx) => {
      const device = p.device ?? ctx.device;
      if (!s.known) throw new KernelError('not_found', `No device ${device} is known here.`, { device });
      return { events: [{ stream: stream(device), type: 'device.named', payload: { device, name: p.name } }], value: { device } };
    },
  },
  {
    type: 'device.revoke',
    description: 'Remove a device: from here on, in merge order, nothing it writes is applied or accepted. It keeps what it already had.',
    concurrent: 'Removed on two devices at once: the earlier removal in merge order counts.',
    schema: z.strictObject({ device: deviceId, reason: z.string().trim().max(500).default('') }),
    mutates: true,
    audit: 'device.revoked',
    target: (p: { device: string }) => stream(p.device),
    load: (read, p: { device: string }) => ({
      known: known(read, p.device),
      revoked: read.value('SELECT 1 FROM kernel_devices WHERE device = ? AND revoked_ord IS NOT NULL', [p.device]) !== undefined,
    }),
    decide: (s: { known: boolean; revoked: boolean }, p: { device: string; reason: string }, ctx) => {
      if (p.device === ctx.device) throw new KernelError('invalid_state', 'A device cannot remove itself: remove it from another device.', { device: p.device });
      if (!s.known) throw new KernelError('not_found', `No device ${p.device} is known here.`, { device: p.device });
      if (s.revoked) throw new KernelError('invalid_state', `Device ${p.device} was already removed.`, { device: p.device });
      return { events: [{ stream: stream(p.device), type: 'device.revoked', payload: { device: p.device, reason: p.reason } }], value: { device: p.device } };
    },
  },
]);

export const devicesProjection: Projection = {
  name: DEVICES_PROJECTION,
  version: 1,
  tables: ['kernel_devices'],
  eventTypes: ['device.key_registered', 'device.added', 'device.named', 'device.revoked'],
  createSql: `CREATE TABLE kernel_devices (
    device      TEXT PRIMARY KEY,
    name        TEXT,
    key_id      TEXT,
    added_by    TEXT,
    added_at    TEXT,
    revoked_ord TEXT,
    revoked_by  TEXT,
    revoked_at  TEXT,
    reason      TEXT
  ) STRICT;`,
  apply(e, w) {
    const p = e.payload as { device: string; name?: string; keyId?: string; addedBy?: string; reason?: string };
    w.run('INSERT INTO kernel_devices (device) VALUES (?) ON CONFLICT (device) DO NOTHING', [p.device]);
    switch (e.type) {
      case 'device.key_registered':
        w.run('UPDATE kernel_devices SET key_id = ? WHERE device = ?', [p.keyId ?? null, p.device]);
        break;
      case 'device.added':
        w.run('UPDATE kernel_devices SET name = ?, added_by = COALESCE(added_by, ?), added_at = COALESCE(added_at, ?) WHERE device = ?', [p.name ?? null, p.addedBy ?? null, e.at, p.device]);
        break;
      case 'device.named':
        w.run('UPDATE kernel_devices SET name = ? WHERE device = ?', [p.name ?? null, p.device]);
        break;
      case 'device.revoked':
        // The earliest removal counts (merge order: the first one applied).
        w.run('UPDATE kernel_devices SET revoked_ord = ?, revoked_by = ?, revoked_at = ?, reason = ? WHERE device = ? AND revoked_ord IS NULL',
          [mergeKey(e.hlc, e.device), e.device, e.at, p.reason ?? '', p.device]);
        break;
    }
  },
};

/** Devices removed here, with the merge key from which their events no longer count. */
export function revocations(read: Reader): Map<string, string> {
  // Before the projection's first build (an older database opening) there is nothing removed.
  if (read.all("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'kernel_devices'").length === 0) return new Map();
  return new Map(read.all('SELECT device, revoked_ord FROM kernel_devices WHERE revoked_ord IS NOT NULL')
    .map((r) => [String(r['device']), String(r['revoked_ord'])]));
}

export interface DeviceRow {
  readonly device: string;
  readonly name: string | null;
  /** This database's own device. */
  readonly self: boolean;
  readonly keyId: string | null;
  readonly addedBy: string | null;
  readonly addedAt: string | null;
  /** Position of its chain head here, and when it wrote that event (its clock). */
  readonly deviceSeq: number;
  readonly headHash: string | null;
  readonly lastSeenAt: string | null;
  readonly revoked: { readonly by: string; readonly at: string; readonly reason: string } | null;
  /** Events it wrote after its removal (kept in the log, not applied). */
  readonly ignoredEvents: number;
}

/** `device.list` for a kernel whose own device is `self()`. */
export function devicesQuery(self: () => string) {
  return defineQuery(
    'device.list',
    'The devices of this log: name, whether it is this one, when it was added and by whom, its chain head and when it last wrote, and whether it was removed.',
    z.strictObject({}),
    (r): DeviceRow[] => {
      const heads = new Map(r.all(`SELECT device, MAX(device_seq) AS n FROM events GROUP BY device`).map((x) => [String(x['device']), Number(x['n'])]));
      const rows = new Map(r.all('SELECT * FROM kernel_devices').map((x) => [String(x['device']), x]));
      // This device is listed before it writes anything (its chain and key come with its first write).
      const ids = [...new Set([...heads.keys(), ...rows.keys(), self()])].sort();
      return ids.map((device) => {
        const row = rows.get(device);
        const n = heads.get(device) ?? 0;
        const head = n > 0 ? r.get('SELECT hash, hlc FROM events WHERE device = ? AND device_seq = ?', [device, n]) : undefined;
        const revokedOrd = row?.['revoked_ord'];
        const ignored = typeof revokedOrd === 'string'
          ? Number(r.value(`SELECT count(*) FROM events WHERE device = ? AND ${ORD_SQL} > ?`, [device, revokedOrd]) ?? 0) : 0;
        const text = (k: string) => (row && row[k] != null ? String(row[k]) : null);
        return {
          device, name: text('name'), self: device === self(), keyId: text('key_id'), addedBy: text('added_by'), addedAt: text('added_at'),
          deviceSeq: n, headHash: head ? String(head['hash']) : null,
          lastSeenAt: head ? new Date(hlcMillis(String(head['hlc']))).toISOString() : null,
          revoked: typeof revokedOrd === 'string' ? { by: text('revoked_by') ?? '', at: text('revoked_at') ?? '', reason: text('reason') ?? '' } : null,
          ignoredEvents: ignored,
        };
      });
    },
  );
}

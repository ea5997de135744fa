/**
 * What device sync records in the log (docs/sync-protocol.md, "Epochs"): each device's public
 * sealing key (P-256 ECDH), so that a new epoch key can be sealed to it, and each epoch rotation
 * with the new key sealed once per remaining device. The keys themselves are never in the log;
 * only sealed boxes, which the relay and a removed device cannot open.
 *
 * Invariants:
 * 1. A device announces only its own key (`device` is the writing device); the newest
 *    announcement of a device in merge order is the one that counts.
 * 2. Epoch numbers only go up: a rotation names the epoch it starts, which must be above every
 *    epoch known here. Two rotations of one epoch at once: the earlier in merge order counts
 *    (`sync.epochs` lists both, winner first; the service ignores the other).
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';
import { mergeKey } from '../../kernel/log/envelope.ts';

const b64url = (min: number, max: number) => z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url').min(min).max(max);
/** A raw uncompressed P-256 public key (65 bytes) in base64url: 87 characters. */
const publicKey = b64url(87, 87);
const deviceId = z.string().min(1).max(200);
const keyAnnounced = z.strictObject({ device: deviceId, publicKey });
const epochRotated = z.strictObject({
  epoch: z.number().int().min(2),
  ephemeral: publicKey,
  boxes: z.record(deviceId, b64url(16, 400)),
  removed: deviceId.nullable(),
});

export interface SealingKeyRow { readonly device: string; readonly publicKey: string }
export interface EpochRow {
  readonly epoch: number;
  readonly by: string;
  readonly ephemeral: string;
  readonly boxes: { readonly [device: string]: string };
  readonly removed: string | null;
  readonly at: string;
}

export const syncModule = {
  name: 'sync',
  commands: defineCommands([
    {
      type: 'sync.announce_key',
      description: "Publish this device's public sealing key, so that other devices can seal a new sync key to it.",
      concurrent: 'Only the device itself announces its key; its newest announcement in merge order counts.',
      schema: z.strictObject({ publicKey }),
      mutates: true,
      decide: (_s: unknown, p: { publicKey: string }, ctx) => ({
        events: [{ stream: `sync:key:${ctx.device}`, type: 'sync.key_announced', payload: { device: ctx.device, publicKey: p.publicKey } }],
        value: { device: ctx.device },
      }),
    },
    {
      type: 'sync.rotate_epoch',
      description: 'Start a new sync epoch: its key sealed to each remaining device (after a device was removed).',
      concurrent: 'Two rotations of one epoch at once: the earlier in merge order counts; the device whose rotation lost rotates again if the winner still includes a removed device.',
      schema: epochRotated.omit({ removed: true }).extend({ removed: deviceId.nullable().default(null) }),
      mutates: true,
      audit: 'sync.epoch_rotated',
      target: () => 'sync:epochs',
      load: (r) => Number(r.value('SELECT MAX(epoch) FROM sync_epochs') ?? 1),
      decide: (current: number, p: z.infer<typeof epochRotated>) => {
        if (p.epoch <= current) throw new KernelError('invalid_state', `Sync epoch ${p.epoch} is not newer than epoch ${current}, the newest here.`, { epoch: p.epoch, current });
        return { events: [{ stream: 'sync:epochs', type: 'sync.epoch_rotated', payload: p }], value: { epoch: p.epoch } };
      },
    },
  ]),
  events: [
    { type: 'sync.key_announced', version: 1, schema: keyAnnounced, description: "A device's public sealing key (P-256) for new sync keys.", concurrent: 'The newest announcement of a device in merge order counts.' },
    { type: 'sync.epoch_rotated', version: 1, schema: epochRotated, description: 'A new sync epoch began; its key is sealed to each remaining device.', concurrent: 'Two rotations of one epoch: the earlier in merge order counts.' },
  ],
  projections: [{
    name: 'sync_keys',
    version: 1,
    tables: ['sync_keys', 'sync_epochs'],
    createSql: `CREATE TABLE sync_keys (device TEXT PRIMARY KEY, public_key TEXT NOT NULL, at TEXT NOT NULL) STRICT;
      CREATE TABLE sync_epochs (epoch INTEGER NOT NULL, ord TEXT NOT NULL, by_device TEXT NOT NULL, ephemeral TEXT NOT NULL,
        boxes TEXT NOT NULL, removed TEXT, at TEXT NOT NULL, PRIMARY KEY (epoch, ord)) STRICT;`,
    eventTypes: ['sync.key_announced', 'sync.epoch_rotated'],
    apply(e, w) {
      if (e.type === 'sync.key_announced') {
        const p = e.payload as z.infer<typeof keyAnnounced>;
        // Events arrive in merge order (projections replay in it): the last applied is the newest.
        w.run(`INSERT INTO sync_keys (device, public_key, at) VALUES (?, ?, ?)
          ON CONFLICT (device) DO UPDATE SET public_key = excluded.public_key, at = excluded.at`, [e.device, p.publicKey, e.at]);
        return;
      }
      const p = e.payload as z.infer<typeof epochRotated>;
      w.run('INSERT INTO sync_epochs (epoch, ord, by_device, ephemeral, boxes, removed, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [p.epoch, mergeKey(e.hlc, e.device), e.device, p.ephemeral, JSON.stringify(p.boxes), p.removed, e.at]);
    },
  }],
  queries: defineQueries([{
    name: 'sync.keys',
    description: 'Every device that announced a sealing key, with its newest key.',
    schema: z.strictObject({}),
    run: (r): SealingKeyRow[] => r.all('SELECT device, public_key FROM sync_keys ORDER BY device')
      .map((x) => ({ device: String(x['device']), publicKey: String(x['public_key']) })),
  }, {
    name: 'sync.epochs',
    description: 'Every epoch rotation, by epoch and then merge order (the first of an epoch is the one that counts).',
    schema: z.strictObject({}),
    run: (r): EpochRow[] => r.all('SELECT * FROM sync_epochs ORDER BY epoch, ord').map((x) => ({
      epoch: Number(x['epoch']), by: String(x['by_device']), ephemeral: String(x['ephemeral']),
      boxes: JSON.parse(String(x['boxes'])) as Record<string, string>, removed: x['removed'] == null ? null : String(x['removed']), at: String(x['at']),
    })),
  }]),
} satisfies KernelModule;

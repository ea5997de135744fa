/**
 * The kernel's own commands and events: liveness, device keys, rebuild records.
 */
import { z } from 'zod';
import type { Json } from './errors.ts';
import { defineCommands, type KernelModule } from './module.ts';
import { deviceCommands, deviceEvents } from './devices.ts';
import { importCommands, importEvents } from './workspace-file/imported.ts';

export const KEY_REGISTER_COMMAND = 'device.key.register';
export const REBUILT_COMMAND = 'kernel.projections.record_rebuild';
export const LOG_UPGRADE_COMMAND = 'kernel.log.record_upgrade';
export const LOG_REPAIR_COMMAND = 'kernel.log.record_repair';

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`), `expected ${len} lowercase hex characters`);

const keyRegistered = z.strictObject({
  device: z.string().min(1),
  keyId: hex(16),
  publicKey: hex(64),
  algorithm: z.literal('Ed25519'),
});

const head = z.strictObject({ device: z.string().min(1), deviceSeq: z.number().int().min(1), hash: hex(64) });
const logUpgraded = z.strictObject({
  fromFormat: z.literal(1),
  toFormat: z.literal(2),
  events: z.number().int().min(1),
  legacyHead: z.strictObject({ seq: z.number().int().min(1), hash: hex(64) }),
  head,
});

const logRepaired = z.strictObject({
  action: z.enum(['rebuild', 'cut']),
  repairId: z.string().min(1),
  problem: z.string().nullable(),
  cut: z.strictObject({ events: z.number().int().min(0), audit: z.number().int().min(0), checkpoints: z.number().int().min(0) }),
  previousDevice: z.string().nullable(),
});

const rebuilt = z.strictObject({
  projections: z.array(z.strictObject({ name: z.string(), digest: hex(64), identical: z.boolean() })),
});

/**
 * An internal, audited command that records one fact about this database as one event of the
 * `kernel` stream (its audit action is the event type).
 */
function recordFact<T extends string, S extends z.ZodType<{ [k: string]: Json }>>(type: T, event: string, schema: S, description: string, concurrent: string) {
  return {
    type, concurrent, description, schema, mutates: true, internal: true, audit: event, target: () => 'kernel',
    decide: (_s: unknown, p: z.infer<S>) => ({ events: [{ stream: 'kernel', type: event, payload: p }], value: null }),
  };
}

/** The kernel's own commands (typed, for the API's CommandMap). */
export const coreCommands = defineCommands([
  {
    type: 'kernel.ping',
    concurrent: "Changes nothing.",
    description: 'Liveness check: answers with the kernel time; appends nothing.',
    schema: z.strictObject({ echo: z.string().max(1000).optional() }),
    mutates: false,
    decide: (_s, p: { echo?: string }, ctx) => ({ events: [], value: { pong: true, at: ctx.now, echo: p.echo ?? null } }),
  },
  {
    type: KEY_REGISTER_COMMAND,
    concurrent: "Each device registers its own key in its own chain.",
    description: "Record a device's public signing key in the log (audited). The private key never enters the log.",
    schema: keyRegistered,
    mutates: true,
    internal: true,
    audit: 'device.key_registered',
    target: (p: z.infer<typeof keyRegistered>) => `device:${p.device}`,
    decide: (_s, p: z.infer<typeof keyRegistered>) => ({
      events: [{ stream: `device:${p.device}`, type: 'device.key_registered', payload: p }],
      value: { keyId: p.keyId },
    }),
  },
  recordFact(REBUILT_COMMAND, 'kernel.projections_rebuilt', rebuilt,
    'Record that projections were rebuilt from the log, with their digests (audited).',
    'A fact about one database: each device records its own rebuilds.'),
  recordFact(LOG_UPGRADE_COMMAND, 'kernel.log_upgraded', logUpgraded,
    'Record that the log was re-chained from format 1 (one chain per database) to per-device chains (audited; signed by the next checkpoint).',
    "A fact about one database's upgrade, in that device's chain."),
  recordFact(LOG_REPAIR_COMMAND, 'kernel.log_repaired', logRepaired,
    'Record an explicit repair of a log that failed verification: projections rebuilt, or the log cut back to its last verified event (what was cut is kept aside and returned first). Audited.',
    "A fact about one database's repair, in that device's chain."),
  ...deviceCommands,
  ...importCommands,
]);

export const coreModule: KernelModule = {
  name: 'kernel',
  commands: coreCommands,
  events: [
    {
      type: 'kernel.log_repaired', version: 1, schema: logRepaired,
      description: 'The log was repaired after it failed verification (rebuild or cut); a cut continues under a new device chain, previousDevice.',
    },
    {
      type: 'kernel.log_upgraded', version: 1, schema: logUpgraded,
      description: 'The log was re-chained from format 1 to per-device chains; legacyHead is the last format-1 head (its hash still verifies by the old rules), head the same event under the new rules.',
    },
    { type: 'device.key_registered', version: 1, description: 'A device signing key (public half) was registered.', schema: keyRegistered },
    { type: 'kernel.projections_rebuilt', version: 1, description: 'Projections were rebuilt from the log.', schema: rebuilt },
    ...deviceEvents,
    ...importEvents,
  ],
};

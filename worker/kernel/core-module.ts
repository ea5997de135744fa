/**
 * The kernel's own commands and events: liveness, device keys, rebuild records.
 */
import { z } from 'zod';
import { defineCommands, type KernelModule } from './module.ts';

export const KEY_REGISTER_COMMAND = 'device.key.register';
export const REBUILT_COMMAND = 'kernel.projections.record_rebuild';

const hex = (len: number) => z.string().regex(new RegExp(`^[0-9a-f]{${len}}$`), `expected ${len} lowercase hex characters`);

const keyRegistered = z.strictObject({
  device: z.string().min(1),
  keyId: hex(16),
  publicKey: hex(64),
  algorithm: z.literal('Ed25519'),
});

const rebuilt = z.strictObject({
  projections: z.array(z.strictObject({ name: z.string(), digest: hex(64), identical: z.boolean() })),
});

/** The kernel's own commands (typed, for the API's CommandMap). */
export const coreCommands = defineCommands([
  {
    type: 'kernel.ping',
    description: 'Liveness check: answers with the kernel time; appends nothing.',
    schema: z.strictObject({ echo: z.string().max(1000).optional() }),
    mutates: false,
    decide: (_s, p: { echo?: string }, ctx) => ({ events: [], value: { pong: true, at: ctx.now, echo: p.echo ?? null } }),
  },
  {
    type: KEY_REGISTER_COMMAND,
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
  {
    type: REBUILT_COMMAND,
    description: 'Record that projections were rebuilt from the log, with their digests (audited).',
    schema: rebuilt,
    mutates: true,
    internal: true,
    audit: 'kernel.projections_rebuilt',
    target: () => 'kernel',
    decide: (_s, p: z.infer<typeof rebuilt>) => ({
      events: [{ stream: 'kernel', type: 'kernel.projections_rebuilt', payload: p }],
      value: null,
    }),
  },
]);

export const coreModule: KernelModule = {
  name: 'kernel',
  commands: coreCommands,
  events: [
    { type: 'device.key_registered', version: 1, description: 'A device signing key (public half) was registered.', schema: keyRegistered },
    { type: 'kernel.projections_rebuilt', version: 1, description: 'Projections were rebuilt from the log.', schema: rebuilt },
  ],
};

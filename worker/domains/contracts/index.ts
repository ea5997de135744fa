/**
 * The contracts slice (docs/contracts.md): triggers that start runs on their own — cron with a
 * time zone, an event in the log with a filter, or a button — bound to a workflow of the
 * workspace's library. The timers are the scheduler's (worker/services/contract-scheduler.ts), started by
 * the composition root next to the engine; this slice records what it decided.
 */
import type { EventDefinition, KernelModule } from '../../kernel/module.ts';
import { commands } from './commands.ts';
import { contractsProjection } from './projection.ts';
import { queries } from './queries.ts';
import { events, type ContractEventType } from './schemas.ts';

const DESCRIPTIONS: { [T in ContractEventType]: string } = {
  'contract.set': 'A contract was created or replaced (trigger, target workflow and inputs, overlap and catch-up policy, on or off).',
  'contract.enabled': 'A contract was turned on (instants while it was off are not caught up).',
  'contract.disabled': 'A contract was turned off.',
  'contract.removed': 'A contract was removed with its record of firings.',
  'contract.fired': 'A contract fired for an instant, an event or a press: its firing key and the session it started (or that the run waits as the one buffered run).',
  'contract.released': "A contract's buffered run started once its running run ended.",
  'contract.skipped': 'Instants a contract did not run, as counted ranges with the reason (missed, outside the catch-up window, over the cap, overlap, an error).',
};

const CONCURRENT: { [T in ContractEventType]?: string } = {
  'contract.set': 'The later in merge order wins as a whole; the later of a set and a remove decides whether it exists.',
  'contract.fired': 'The first firing of a key in merge order is the run of that instant; a later one from another device is recorded as a duplicate and cancelled by its device if it still runs.',
};

const EVENTS: EventDefinition[] = (Object.keys(events) as ContractEventType[]).map((type) => ({
  type, version: 1, scope: 'workspace' as const, description: DESCRIPTIONS[type], schema: events[type],
  ...(CONCURRENT[type] ? { concurrent: CONCURRENT[type] } : {}),
}));

export const contractsModule = {
  name: 'contracts',
  commands,
  events: EVENTS,
  projections: [contractsProjection],
  queries,
} satisfies KernelModule;

/**
 * The sessions slice: workflow library, durable sessions and their read models.
 */
import type { KernelModule } from '../../kernel/module.ts';
import { commands } from './commands.ts';
import { SESSION_EVENTS } from './events.ts';
import { sessionsProjection } from './projection.ts';
import { queries } from './queries.ts';
import { lookupQueries } from './lookups.ts';
import { inboxQueries } from './inbox.ts';
import { sessionNumbersProjection } from './numbers.ts';

export const sessionsModule = {
  name: 'sessions',
  commands,
  events: SESSION_EVENTS,
  projections: [sessionsProjection, sessionNumbersProjection],
  queries: [...queries, ...lookupQueries, ...inboxQueries] as const,
} satisfies KernelModule;

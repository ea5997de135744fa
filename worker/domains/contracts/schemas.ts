/**
 * The contracts slice's shapes (docs/contracts.md): a contract binds a trigger (cron with a time
 * zone, an event in the log with a filter, or a button) to a workflow of its workspace's library,
 * with an overlap and a catch-up policy. Commands' payloads and events' payloads, strict.
 *
 * Invariants:
 * 1. A contract id is a UUID (made by contract.set when absent), so firing keys
 *    `contract/<id>/<ISO>` are unique in the whole database and a workspace file's import remaps
 *    them like every other id.
 * 2. An event filter compares payload fields (dot paths) with JSON scalars: equal, or an array
 *    field that contains the value (`tags: "urgent"`). Contract events never trigger a contract.
 */
import { z } from 'zod';
import { workspaceField, workspaceIdSchema } from '../workspaces/scope.ts';

export const contractId = z.uuid({ message: 'expected a contract id (a UUID)' });

const scalar = z.union([z.string().max(1_000), z.number(), z.boolean(), z.null()]);
/** `name` or `name@version` of a workflow in the workspace's library, or `kata:<name>` (an installed kata's workflow). */
export const workflowRef = z.string().min(1).max(200);

export const cronTrigger = z.strictObject({
  kind: z.literal('cron'),
  cron: z.string().min(1).max(200),
  /** IANA time zone; UTC when absent. */
  timezone: z.string().min(1).max(100).optional(),
});
export const eventTrigger = z.strictObject({
  kind: z.literal('event'),
  /** The event type, e.g. forest.node_created. */
  type: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, 'an event type is dotted lower-case words, e.g. forest.node_created'),
  /** Payload field (dot path) → value it must equal (or, for an array field, contain). */
  filter: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/, 'a field is a dot path like tags or workflow.name'), scalar).default({}),
});
export const buttonTrigger = z.strictObject({ kind: z.literal('button') });
export const trigger = z.discriminatedUnion('kind', [cronTrigger, eventTrigger, buttonTrigger]);

export const catchUp = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('skip') }),
  z.strictObject({ mode: z.literal('latest'), windowMs: z.number().int().nonnegative().max(366 * 86_400_000) }),
  z.strictObject({ mode: z.literal('all'), windowMs: z.number().int().nonnegative().max(366 * 86_400_000), cap: z.number().int().min(1).max(1_000) }),
]);
export const overlap = z.enum(['skip', 'buffer_one', 'allow']);

const contractFields = {
  name: z.string().trim().min(1, 'a contract needs a name').max(200),
  workflow: workflowRef,
  inputs: z.record(z.string(), z.json()).default({}),
  trigger,
  overlap: overlap.default('skip'),
  catchUp: catchUp.default({ mode: 'skip' }),
  enabled: z.boolean().default(true),
};

export const setSchema = z.strictObject({ workspaceId: workspaceField, id: contractId.optional(), ...contractFields });
export const refSchema = z.strictObject({ id: contractId });

/** Why instants were not run: the schedule's reasons (schedule.ts) and the firing's own. */
export const skipReason = z.enum(['missed', 'outside_window', 'over_cap', 'too_many', 'overlap', 'error']);
const range = z.strictObject({
  reason: skipReason,
  count: z.number().int().nonnegative().nullable(),
  first: z.number().int(),
  last: z.number().int(),
  /** For `error`: the sentence of the refusal (e.g. the workflow is gone). */
  message: z.string().max(2_000).optional(),
});

/** The scheduler's due firings and skips of one cron contract (internal). */
export const triggerSchema = z.strictObject({
  id: contractId,
  /** The scheduled instant (cron), or the event's time (event). */
  instant: z.number().int().nonnegative(),
  /** Event triggers: the event that fired it (its id makes the firing key). */
  eventId: z.string().min(1).max(100).optional(),
  /** Cron: the new "last considered" instant. */
  considered: z.number().int().nonnegative().optional(),
});
export const skipSchema = z.strictObject({ id: contractId, ranges: z.array(range.omit({ message: true })).min(1).max(100), considered: z.number().int().nonnegative() });

export const events = {
  'contract.set': z.strictObject({ workspaceId: workspaceIdSchema, id: contractId, ...contractFields, inputs: z.record(z.string(), z.json()), overlap, catchUp, enabled: z.boolean() }),
  'contract.enabled': z.strictObject({ id: contractId }),
  'contract.disabled': z.strictObject({ id: contractId }),
  'contract.removed': z.strictObject({ id: contractId }),
  'contract.fired': z.strictObject({
    id: contractId,
    key: z.string().min(1).max(300),
    instant: z.number().int().nonnegative(),
    source: z.enum(['cron', 'event', 'button']),
    eventId: z.string().optional(),
    /** The session it started; absent while it waits as the one buffered run (overlap buffer_one). */
    sessionId: z.string().optional(),
    buffered: z.boolean().optional(),
    considered: z.number().int().nonnegative().optional(),
  }),
  'contract.released': z.strictObject({ id: contractId, key: z.string().min(1).max(300), sessionId: z.string() }),
  'contract.skipped': z.strictObject({ id: contractId, ranges: z.array(range).min(1).max(100), considered: z.number().int().nonnegative().optional() }),
} as const;

export type ContractSet = z.output<typeof setSchema>;
export type ContractSetEvent = z.output<(typeof events)['contract.set']>;
export type Trigger = z.output<typeof trigger>;
export type SkipRange = z.output<typeof range>;
export type ContractEventType = keyof typeof events;

export const contractStream = (id: string): string => `contract:${id}`;

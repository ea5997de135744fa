/**
 * Test-only kernel modules around one event type, `test.thing_happened`, in two schema versions,
 * for upcaster and projection-versioning tests.
 *
 * v1 payload: { label }            v2 payload: { label, size } (size = label length when upcast)
 */
import { z } from 'zod';
import type { CommandDefinition, Decision, EventDefinition, KernelModule, Projection, Upcaster } from '../../worker/kernel/module.ts';
import type { Json } from '../../worker/kernel/errors.ts';
import type { EventEnvelope } from '../../worker/kernel/log/envelope.ts';

export const THING_EVENT = 'test.thing_happened';
export const THING_COMMAND = 'test.thing.happen';
export const THING_STREAM = 'thing:all';

const v1Payload = z.strictObject({ label: z.string().min(1) });
const v2Payload = z.strictObject({ label: z.string().min(1), size: z.number().int().min(0) });

export const upcastV1toV2: Upcaster = {
  fromVersion: 1,
  up: (p) => ({ ...(p as { label: string }), size: (p as { label: string }).label.length }),
};

function command(version: 1 | 2): CommandDefinition {
  return {
    type: THING_COMMAND,
    description: 'Record that a thing happened (test module).',
    schema: z.strictObject({ label: z.string().min(1) }),
    mutates: true,
    target: () => THING_STREAM,
    decide: (_s, p: { label: string }): Decision => {
      const payload: Json = version === 1 ? { label: p.label } : { label: p.label, size: p.label.length };
      return { events: [{ stream: THING_STREAM, type: THING_EVENT, payload }], value: { label: p.label } };
    },
  };
}

function event(version: 1 | 2, upcasters: readonly Upcaster[]): EventDefinition {
  return {
    type: THING_EVENT,
    version,
    description: 'A thing happened (test module).',
    schema: version === 1 ? v1Payload : v2Payload,
    upcasters,
  };
}

/**
 * A projection of things. With `version` you can simulate a code change (bump it); `seen` counts
 * apply() calls so tests can tell whether a projection replayed. `eventTypes: 'all'` subscribes it
 * to every event type.
 */
export function thingsProjection(opts: { version?: number; name?: string; table?: string; eventTypes?: readonly string[] | 'all' } = {}): Projection & { seen: number } {
  const table = opts.table ?? 'test_things';
  const p = {
    name: opts.name ?? 'things',
    version: opts.version ?? 1,
    tables: [table],
    createSql: `CREATE TABLE ${table} (seq INTEGER PRIMARY KEY, label TEXT NOT NULL, size INTEGER, v INTEGER NOT NULL) STRICT;`,
    ...(opts.eventTypes === 'all' ? {} : { eventTypes: opts.eventTypes ?? [THING_EVENT] }),
    seen: 0,
    apply(e: EventEnvelope, w: { run(sql: string, bind?: readonly (string | number | null)[]): number }) {
      p.seen++;
      if (e.type !== THING_EVENT) return;
      const pl = e.payload as { label: string; size?: number };
      w.run(`INSERT INTO ${table} (seq, label, size, v) VALUES (?, ?, ?, ?)`, [e.seq, pl.label, pl.size ?? null, e.v]);
    },
  };
  return p as Projection & { seen: number };
}

export interface ThingModuleOptions {
  readonly version: 1 | 2;
  /** Upcasters of the v2 event (default: the 1→2 upcaster). */
  readonly upcasters?: readonly Upcaster[];
  readonly projections?: readonly Projection[];
}

export function thingModule(o: ThingModuleOptions): KernelModule {
  return {
    name: `test-things-v${o.version}`,
    commands: [command(o.version)],
    events: [event(o.version, o.version === 2 ? (o.upcasters ?? [upcastV1toV2]) : [])],
    projections: o.projections ?? [],
  };
}

export const v1Module = (projections: readonly Projection[] = []): KernelModule => thingModule({ version: 1, projections });
export const v2Module = (projections: readonly Projection[] = []): KernelModule => thingModule({ version: 2, projections });

/**
 * A small random-command model over the workspace slice, for property tests: fast-check generates
 * abstract operations (indexes into the entities created so far, names from a small pool with
 * case variants so uniqueness conflicts happen), and `CommandDriver` turns them into real commands.
 *
 * Invariants:
 * 1. Operations never reference ids that cannot exist: indexes are taken modulo the entities
 *    created so far (an operation with nothing to point at becomes a create or a ghost id).
 * 2. Only the domain codes listed in EXPECTED_CODES count as expected refusals; anything else
 *    (above all `internal`) is thrown by `run`.
 */
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { KernelError } from '../../worker/kernel/errors.ts';
import type { CommandInput, CommandResult } from '../../worker/kernel/commands/envelope.ts';
import type { Kernel } from '../../worker/kernel/kernel.ts';

export const NAMES = ['Alpha', 'alpha', 'ALPHA', 'Beta', 'beta', 'Gamma', 'Delta', 'Épsilon', 'épsilon', 'Zeta', 'Eta', 'Theta'];

export type Op =
  | { readonly kind: 'createWs'; readonly name: number; readonly withId: boolean }
  | { readonly kind: 'renameWs'; readonly ws: number; readonly name: number }
  | { readonly kind: 'openWs'; readonly ws: number }
  | { readonly kind: 'archiveWs'; readonly ws: number }
  | { readonly kind: 'createPr'; readonly ws: number; readonly name: number }
  | { readonly kind: 'renamePr'; readonly pr: number; readonly name: number }
  | { readonly kind: 'archivePr'; readonly pr: number }
  | { readonly kind: 'versioned'; readonly ws: number; readonly name: number; readonly skew: number }
  | { readonly kind: 'repeat' }
  | { readonly kind: 'ghost' }
  | { readonly kind: 'batch'; readonly ops: readonly Op[] };

const idx = fc.nat({ max: 1000 });
const name = fc.nat({ max: NAMES.length - 1 });

const leafOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('createWs' as const), name, withId: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('renameWs' as const), ws: idx, name }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('openWs' as const), ws: idx }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('archiveWs' as const), ws: idx }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('createPr' as const), ws: idx, name }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('renamePr' as const), pr: idx, name }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('archivePr' as const), pr: idx }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('versioned' as const), ws: idx, name, skew: fc.integer({ min: -1, max: 1 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'repeat' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'ghost' as const }) },
);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: leafOp },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('batch' as const), ops: fc.array(leafOp, { minLength: 1, maxLength: 4 }) }) },
);

export const opsArb = (minLength: number, maxLength: number): fc.Arbitrary<Op[]> => fc.array(opArb, { minLength, maxLength });

export const EXPECTED_CODES = new Set(['already_exists', 'archived', 'not_found', 'version_conflict']);

export interface Outcome {
  readonly ok: boolean;
  readonly results: readonly CommandResult[];
  readonly code?: string;
}

export class CommandDriver {
  readonly workspaces: string[] = [];
  readonly projects: string[] = [];
  private last: CommandInput | null = null;
  /** Every command that succeeded, with its result (for replay checks). */
  readonly acknowledged: { input: CommandInput; result: CommandResult }[] = [];

  constructor(private readonly k: Kernel) {}

  /** Turn one op into command inputs (a batch op into several). */
  inputs(op: Op): CommandInput[] {
    if (op.kind === 'batch') return op.ops.flatMap((o) => this.inputs(o));
    const key = `m-${randomUUID()}`;
    const ws = (i: number) => this.workspaces[i % this.workspaces.length];
    const pr = (i: number) => this.projects[i % this.projects.length];
    switch (op.kind) {
      case 'createWs':
        return [{ type: 'workspace.create', payload: { name: NAMES[op.name]!, ...(op.withId ? { workspaceId: randomUUID() } : {}) }, idempotencyKey: key }];
      case 'renameWs': {
        const id = ws(op.ws);
        return id ? [{ type: 'workspace.rename', payload: { workspaceId: id, name: NAMES[op.name]! }, idempotencyKey: key }] : [];
      }
      case 'openWs': {
        // Opening a workspace is client state now (no command): a project in it instead.
        const id = ws(op.ws);
        return id ? [{ type: 'project.create', payload: { workspaceId: id, name: NAMES[op.ws % NAMES.length]! }, idempotencyKey: key }] : [];
      }
      case 'archiveWs': {
        const id = ws(op.ws);
        return id ? [{ type: 'workspace.archive', payload: { workspaceId: id }, idempotencyKey: key }] : [];
      }
      case 'createPr': {
        const id = ws(op.ws);
        return id ? [{ type: 'project.create', payload: { workspaceId: id, name: NAMES[op.name]! }, idempotencyKey: key }] : [];
      }
      case 'renamePr': {
        const id = pr(op.pr);
        return id ? [{ type: 'project.rename', payload: { projectId: id, name: NAMES[op.name]! }, idempotencyKey: key }] : [];
      }
      case 'archivePr': {
        const id = pr(op.pr);
        return id ? [{ type: 'project.archive', payload: { projectId: id }, idempotencyKey: key }] : [];
      }
      case 'versioned': {
        const id = ws(op.ws);
        if (!id) return [];
        const version = this.k.store.streamVersion(`workspace:${id}`);
        return [{ type: 'workspace.rename', payload: { workspaceId: id, name: NAMES[op.name]! }, idempotencyKey: key, expectedVersion: Math.max(0, version + op.skew) }];
      }
      case 'repeat':
        return this.last ? [this.last] : [];
      case 'ghost':
        return [{ type: 'workspace.rename', payload: { workspaceId: randomUUID(), name: 'Ghost' }, idempotencyKey: key }];
    }
  }

  /** Execute one op; expected refusals are returned, anything else is thrown. */
  run(op: Op): Outcome {
    const inputs = this.inputs(op);
    if (inputs.length === 0) return { ok: true, results: [] };
    try {
      const results = inputs.length === 1 && op.kind !== 'batch' ? [this.k.command(inputs[0]!)] : this.k.commandBatch(inputs);
      results.forEach((r, i) => {
        this.acknowledged.push({ input: inputs[i]!, result: r });
        const v = r.value as { workspaceId?: string; projectId?: string } | null;
        if (r.replayed) return;
        if (r.type === 'workspace.create' && v?.workspaceId) this.workspaces.push(v.workspaceId);
        if (r.type === 'project.create' && v?.projectId) this.projects.push(v.projectId);
      });
      this.last = inputs[inputs.length - 1]!;
      return { ok: true, results };
    } catch (err) {
      if (err instanceof KernelError && EXPECTED_CODES.has(err.code)) return { ok: false, results: [], code: err.code };
      throw err;
    }
  }
}

/**
 * The secrets store: API tokens for http steps, read by templates as `{{ secrets.NAME }}`.
 *
 * Invariants:
 * 1. A value lives only in the kernel's `secrets` table (written in the command's transaction by
 *    `Decision.store`); the log records that a secret was set or deleted, never its value.
 * 2. No public query returns a value; only the engine reads them (the internal query
 *    `secret.values`, refused through the API), to render step inputs, and it redacts every value
 *    from what it records (inputs, outputs, errors).
 * 4. Sharing is explicit (`secret.share`): the value travels in the log only sealed to the sync
 *    epoch key (worker/sync/epochs.ts); each receiving device's sync service opens it and stores
 *    it with `secret.receive` (internal, no event: the value stays off the log). A value set on a
 *    device later than a share's time is not overwritten by it.
 * 3. Secrets belong to a workspace (names unique per workspace): `secrets` and `secret_names` are
 *    keyed by (workspace_id, name), and a session reads only its own workspace's secrets.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';
import { assertActiveWorkspace, toDefaultWorkspace, workspaceField, workspaceIdSchema, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const name = z.string().regex(SECRET_NAME, 'a secret name is letters, digits and _ (not starting with a digit), at most 64');

/** The secret values of one workspace, by name (the engine's `{{ secrets.X }}`). */
export function readSecrets(r: Reader, workspaceId: string): Map<string, string> {
  return new Map(r.all('SELECT name, value FROM secrets WHERE workspace_id = ?', [workspaceId]).map((x) => [String(x['name']), String(x['value'])]));
}

const b64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be base64url').min(16).max(100_000);
const shared = z.strictObject({ workspaceId: workspaceIdSchema, name, epoch: z.number().int().min(1), sealed: b64url });

/** A sealed share this device has not stored yet (`secret.shares`). */
export interface SecretShareRow { readonly workspaceId: string; readonly name: string; readonly epoch: number; readonly sealed: string; readonly at: string }

const secretStream = (workspaceId: string, name: string): string => `secret:${workspaceId}/${name}`;

export const secretsModule = {
  name: 'secrets',
  commands: defineCommands([
    {
      type: 'secret.set',
      concurrent: "The value never leaves the device (it is not in the log): each device keeps its own value. Whether the name exists is decided by the later in merge order of a set and a delete.",
      description: 'Store a secret value under a name in a workspace (the value never enters the log).',
      schema: z.strictObject({ workspaceId: workspaceField, name, value: z.string().min(1).max(64 * 1024) }),
      mutates: true,
      audit: 'secret.set',
      load: (r, p: { workspaceId: string }) => workspaceStatus(r, p.workspaceId),
      decide: (ws: WorkspaceStatus, p: { workspaceId: string; name: string; value: string }, ctx) => {
        assertActiveWorkspace(ws, p.workspaceId);
        return {
          events: [{ stream: secretStream(p.workspaceId, p.name), type: 'secret.set', payload: { workspaceId: p.workspaceId, name: p.name } }],
          value: { name: p.name },
          store: (w) => w.run(`INSERT INTO secrets (workspace_id, name, value, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, [p.workspaceId, p.name, p.value, ctx.now]),
        };
      },
    },
    {
      type: 'secret.delete',
      concurrent: "The later in merge order of a set and a delete decides whether the name exists; values stay per device.",
      description: 'Delete a secret of a workspace.',
      schema: z.strictObject({ workspaceId: workspaceField, name }),
      mutates: true,
      audit: 'secret.deleted',
      load: (r, p: { workspaceId: string; name: string }) => r.value('SELECT 1 FROM secret_names WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]),
      decide: (found: unknown, p: { workspaceId: string; name: string }) => {
        if (!found) throw new KernelError('not_found', `There is no secret named ${p.name} in this workspace.`, { name: p.name, workspaceId: p.workspaceId });
        return {
          events: [{ stream: secretStream(p.workspaceId, p.name), type: 'secret.deleted', payload: { workspaceId: p.workspaceId, name: p.name } }],
          value: { name: p.name },
          store: (w) => w.run('DELETE FROM secrets WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]),
        };
      },
    },
    {
      type: 'secret.share',
      concurrent: 'Two shares of one name at once: each device keeps the later in merge order (unless it set a newer value itself).',
      description: "Share a secret's value with this person's other devices, sealed to the sync key (docs/sync-protocol.md, \"Shared secrets\").",
      schema: z.strictObject({ workspaceId: workspaceField, name, epoch: z.number().int().min(1), sealed: b64url }),
      mutates: true,
      audit: 'secret.shared',
      load: (r, p: { workspaceId: string; name: string }) => ({ ws: workspaceStatus(r, p.workspaceId), found: r.value('SELECT 1 FROM secrets WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]) }),
      decide: (s: { ws: WorkspaceStatus; found: unknown }, p: z.infer<typeof shared>) => {
        assertActiveWorkspace(s.ws, p.workspaceId);
        if (!s.found) throw new KernelError('not_found', `There is no secret named ${p.name} on this device to share.`, { name: p.name, workspaceId: p.workspaceId });
        return { events: [{ stream: secretStream(p.workspaceId, p.name), type: 'secret.shared', payload: p }], value: { name: p.name } };
      },
    },
    {
      type: 'secret.receive',
      internal: true,
      concurrent: 'Local only: stores a value another device shared (no event).',
      description: "Store the opened value of another device's share on this device (the sync service; the value never enters the log).",
      schema: z.strictObject({ workspaceId: workspaceIdSchema, name, value: z.string().min(1).max(64 * 1024), at: z.string().min(1) }),
      mutates: true,
      decide: (_s: unknown, p: { workspaceId: string; name: string; value: string; at: string }) => ({
        events: [],
        value: { name: p.name },
        store: (w) => w.run(`INSERT INTO secrets (workspace_id, name, value, updated_at) VALUES (?, ?, ?, ?)
          ON CONFLICT (workspace_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at WHERE excluded.updated_at > secrets.updated_at`,
        [p.workspaceId, p.name, p.value, p.at]),
      }),
    },
  ]),
  events: [
    // v2: workspaceId (v1 events are lifted into the default workspace).
    { type: 'secret.set', version: 2, scope: 'workspace', concurrent: "The later in merge order of a set and a delete decides whether the name exists; each device keeps its own value.", description: 'A secret was stored or replaced in a workspace (its value is not in the log).', schema: z.strictObject({ workspaceId: workspaceIdSchema, name }), upcasters: [toDefaultWorkspace] },
    { type: 'secret.shared', version: 1, concurrent: 'Each device keeps the later share in merge order, unless it set a newer value itself.', description: "A secret's value was shared with the person's other devices, sealed to the sync key.", schema: shared },
    { type: 'secret.deleted', version: 2, scope: 'workspace', concurrent: "The later in merge order of a set and a delete decides whether the name exists.", description: 'A secret of a workspace was deleted.', schema: z.strictObject({ workspaceId: workspaceIdSchema, name }), upcasters: [toDefaultWorkspace] },
  ],
  projections: [{
    name: 'secret_names',
    // 2: keyed by (workspace_id, name).
    version: 2,
    tables: ['secret_names'],
    createSql: 'CREATE TABLE secret_names (workspace_id TEXT NOT NULL, name TEXT NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (workspace_id, name)) STRICT;',
    eventTypes: ['secret.set', 'secret.shared', 'secret.deleted'],
    apply(e, w) {
      const p = e.payload as { workspaceId: string; name: string };
      if (e.type === 'secret.set' || e.type === 'secret.shared') {
        w.run(`INSERT INTO secret_names (workspace_id, name, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (workspace_id, name) DO UPDATE SET updated_at = excluded.updated_at`, [p.workspaceId, p.name, e.at]);
      } else w.run('DELETE FROM secret_names WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]);
    },
  }, {
    // The newest share of each name (sealed; invariant 4).
    name: 'secret_shares',
    version: 1,
    tables: ['secret_shares'],
    createSql: 'CREATE TABLE secret_shares (workspace_id TEXT NOT NULL, name TEXT NOT NULL, epoch INTEGER NOT NULL, sealed TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (workspace_id, name)) STRICT;',
    eventTypes: ['secret.shared', 'secret.deleted'],
    apply(e, w) {
      const p = e.payload as { workspaceId: string; name: string; epoch?: number; sealed?: string };
      if (e.type === 'secret.deleted') w.run('DELETE FROM secret_shares WHERE workspace_id = ? AND name = ?', [p.workspaceId, p.name]);
      else w.run(`INSERT INTO secret_shares (workspace_id, name, epoch, sealed, at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (workspace_id, name) DO UPDATE SET epoch = excluded.epoch, sealed = excluded.sealed, at = excluded.at`, [p.workspaceId, p.name, p.epoch ?? 1, p.sealed ?? '', e.at]);
    },
  }],
  queries: defineQueries([{
    name: 'secret.list',
    description: "Names of a workspace's secrets, when each was last set, and whether this device holds its value (never the values).",
    schema: z.strictObject({ workspaceId: workspaceField }),
    run: (r, p: { workspaceId: string }) => r.all(`SELECT n.name, n.updated_at AS updatedAt, v.name IS NOT NULL AS stored FROM secret_names n
        LEFT JOIN secrets v ON v.workspace_id = n.workspace_id AND v.name = n.name WHERE n.workspace_id = ? ORDER BY n.name`, [p.workspaceId])
      .map((x) => ({ name: String(x['name']), updatedAt: String(x['updatedAt']), stored: Number(x['stored']) === 1 })),
  }, {
    name: 'secret.values',
    description: "A workspace's secret values by name: internal, for the engine to render step inputs (never through the API).",
    schema: z.strictObject({ workspaceId: workspaceField }),
    internal: true,
    run: (r, p: { workspaceId: string }): { [name: string]: string } => Object.fromEntries(readSecrets(r, p.workspaceId)),
  }, {
    name: 'secret.shares',
    description: 'Sealed shares from other devices that this device has not stored (no value, or an older one): internal, for the sync service.',
    schema: z.strictObject({}),
    internal: true,
    run: (r): SecretShareRow[] => r.all(`SELECT s.workspace_id, s.name, s.epoch, s.sealed, s.at FROM secret_shares s
        LEFT JOIN secrets v ON v.workspace_id = s.workspace_id AND v.name = s.name
        WHERE v.updated_at IS NULL OR v.updated_at < s.at ORDER BY s.at`)
      .map((x) => ({ workspaceId: String(x['workspace_id']), name: String(x['name']), epoch: Number(x['epoch']), sealed: String(x['sealed']), at: String(x['at']) })),
  }]),
} satisfies KernelModule;

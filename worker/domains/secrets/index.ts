/**
 * The secrets store: API tokens for http steps, read by templates as `{{ secrets.NAME }}`.
 *
 * Invariants:
 * 1. A value lives only in the kernel's `secrets` table (written in the command's transaction by
 *    `Decision.store`); the log records that a secret was set or deleted, never its value.
 * 2. No public query returns a value; only the engine reads them (the internal query
 *    `secret.values`, refused through the API), to render step inputs, and it redacts every value
 *    from what it records (inputs, outputs, errors).
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule, type Reader } from '../../kernel/module.ts';
import { KernelError } from '../../kernel/errors.ts';

export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const name = z.string().regex(SECRET_NAME, 'a secret name is letters, digits and _ (not starting with a digit), at most 64');

export function readSecrets(r: Reader): Map<string, string> {
  return new Map(r.all('SELECT name, value FROM secrets').map((x) => [String(x['name']), String(x['value'])]));
}

export const secretsModule = {
  name: 'secrets',
  commands: defineCommands([
    {
      type: 'secret.set',
      description: 'Store a secret value under a name (the value never enters the log).',
      schema: z.strictObject({ name, value: z.string().min(1).max(64 * 1024) }),
      mutates: true,
      audit: 'secret.set',
      decide: (_: unknown, p: { name: string; value: string }, ctx) => ({
        events: [{ stream: `secret:${p.name}`, type: 'secret.set', payload: { name: p.name } }],
        value: { name: p.name },
        store: (w) => w.run(`INSERT INTO secrets (name, value, updated_at) VALUES (?, ?, ?)
          ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, [p.name, p.value, ctx.now]),
      }),
    },
    {
      type: 'secret.delete',
      description: 'Delete a secret.',
      schema: z.strictObject({ name }),
      mutates: true,
      audit: 'secret.deleted',
      load: (r, p: { name: string }) => r.value('SELECT 1 FROM secret_names WHERE name = ?', [p.name]),
      decide: (found: unknown, p: { name: string }) => {
        if (!found) throw new KernelError('not_found', `There is no secret named ${p.name}.`, { name: p.name });
        return {
          events: [{ stream: `secret:${p.name}`, type: 'secret.deleted', payload: { name: p.name } }],
          value: { name: p.name },
          store: (w) => w.run('DELETE FROM secrets WHERE name = ?', [p.name]),
        };
      },
    },
  ]),
  events: [
    { type: 'secret.set', version: 1, description: 'A secret was stored or replaced (its value is not in the log).', schema: z.strictObject({ name }) },
    { type: 'secret.deleted', version: 1, description: 'A secret was deleted.', schema: z.strictObject({ name }) },
  ],
  projections: [{
    name: 'secret_names',
    version: 1,
    tables: ['secret_names'],
    createSql: 'CREATE TABLE secret_names (name TEXT PRIMARY KEY, updated_at TEXT NOT NULL) STRICT;',
    eventTypes: ['secret.set', 'secret.deleted'],
    apply(e, w) {
      const n = String((e.payload as { name: string }).name);
      if (e.type === 'secret.set') w.run('INSERT INTO secret_names (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at', [n, e.at]);
      else w.run('DELETE FROM secret_names WHERE name = ?', [n]);
    },
  }],
  queries: defineQueries([{
    name: 'secret.list',
    description: 'Names of the stored secrets and when each was last set (never the values).',
    schema: z.strictObject({}),
    run: (r) => r.all('SELECT name, updated_at AS updatedAt FROM secret_names ORDER BY name').map((x) => ({ name: String(x['name']), updatedAt: String(x['updatedAt']) })),
  }, {
    name: 'secret.values',
    description: 'Every secret value by name: internal, for the engine to render step inputs (never through the API).',
    schema: z.strictObject({}),
    internal: true,
    run: (r): { [name: string]: string } => Object.fromEntries(readSecrets(r)),
  }]),
} satisfies KernelModule;

/**
 * One home per concern: a slice reads and writes only its own projection tables (and the kernel's
 * log and stores it is entitled to); everything else it needs comes through another slice's
 * queries or commands. The engine reads no slice table at all: it asks queries (worker/engine/ask.ts).
 * Scans the SQL in the sources for table names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODULES } from '../../../worker/modules.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where each module lives. */
const DIRS: Record<string, string> = {
  workspaces: 'worker/domains/workspaces', sessions: 'worker/domains/sessions', secrets: 'worker/domains/secrets',
  'llm-providers': 'worker/domains/providers', forest: 'worker/domains/forest', sync: 'worker/domains/sync',
  manifests: 'worker/domains/manifests', policies: 'worker/domains/policies',
  contracts: 'worker/domains/contracts', realms: 'worker/domains/realms', dojo: 'worker/domains/dojo',
};
/** Kernel tables a slice may use besides its own: the log (its own streams) and the stores decisions write. */
const KERNEL_TABLES: Record<string, readonly string[]> = {
  sessions: ['events', 'blobs'],
  secrets: ['secrets'],
  // Where an event trigger starts looking (its contract's last set), and the event a run reads.
  contracts: ['events'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : n.endsWith('.ts') ? [p] : [];
  });
}

function tablesIn(text: string, known: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+([a-z_][a-z0-9_]*)/gi)) if (known.has(m[1]!)) out.add(m[1]!);
  return out;
}

const owned = new Map(DEFAULT_MODULES.map((m) => [m.name, new Set((m.projections ?? []).flatMap((p) => p.tables))]));
const slicesTables = new Set([...owned.values()].flatMap((s) => [...s]));
const known = new Set([...slicesTables, 'events', 'blobs', 'secrets', 'idempotency', 'audit', 'checkpoints', 'projections', 'meta']);

test('every default module has a known home', () => {
  assert.deepEqual(DEFAULT_MODULES.map((m) => m.name).filter((n) => !DIRS[n]), []);
});

test('a slice touches only its own tables (and the kernel tables it is entitled to)', () => {
  const offenders: string[] = [];
  for (const m of DEFAULT_MODULES) {
    const allowed = new Set([...(owned.get(m.name) ?? []), ...(KERNEL_TABLES[m.name] ?? [])]);
    for (const f of files(join(ROOT, DIRS[m.name]!))) {
      for (const t of tablesIn(readFileSync(f, 'utf8'), known)) if (!allowed.has(t)) offenders.push(`${relative(ROOT, f)}: ${t}`);
    }
  }
  assert.deepEqual(offenders, [], 'ask the owning slice through its query (QueryContext.query) instead');
});

test('the engine reads no slice table (it asks queries)', () => {
  const offenders: string[] = [];
  for (const f of files(join(ROOT, 'worker/engine'))) {
    for (const t of tablesIn(readFileSync(f, 'utf8'), known)) offenders.push(`${relative(ROOT, f)}: ${t}`);
  }
  assert.deepEqual(offenders, []);
});

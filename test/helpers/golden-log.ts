/**
 * Golden logs (STYLE.md §5): a committed event log in `test/fixtures/logs/<name>.jsonl` plus the
 * projection tables it must produce (`<name>.expected.json`). Replaying it must give byte-identical
 * tables; when an event version or a projection changes on purpose, regenerate with
 *
 *   node --import tsx test/helpers/golden-log.ts <name>
 *
 * and review the diff (add a new log rather than rewriting one whose events are still readable).
 * When only the projections changed (the events still read, e.g. through upcasters), refresh just
 * the expected tables of a committed log with
 *
 *   node --import tsx test/helpers/golden-log.ts --expected <name>
 *
 * Committed logs: `workspaces-v1` (workspace/project events, including the v1-only
 * `workspace.opened`), `pre-workspaces-v1` (workflows, sessions, Forest, secrets and providers as
 * written before workspaces scoped them, by commit 81d1840: every scoped event is version 1, so a
 * replay lifts all of it into the default workspace).
 *
 * Invariants:
 * 1. A line is one stored event row (payload as JSON); importing re-encodes it canonically, so a
 *    change to canonical encoding or hashing shows up as a verify failure.
 * 2. Expected tables are compared by rows (readable diffs) and by `kernel.digest()`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openKernel } from '../../worker/node/index.ts';
import type { Kernel } from '../../worker/kernel/kernel.ts';
import type { StorageAdapter } from '../../worker/kernel/db/adapter.ts';
import { memoryAdapter } from '../../worker/kernel/db/memory-adapter.ts';
import { MIGRATIONS, migrate } from '../../worker/kernel/db/migrations.ts';
import { canonicalJson } from '../../worker/kernel/log/canonical.ts';
import type { EventEnvelope } from '../../worker/kernel/log/envelope.ts';

export const LOGS_DIR = fileURLToPath(new URL('../fixtures/logs/', import.meta.url));
export const GOLDEN_PROJECTIONS = ['workspaces', 'projects', 'sessions', 'secret_names', 'llm_providers', 'forest_nodes', 'forest_links'] as const;

export interface GoldenExpected {
  readonly events: number;
  readonly digests: Record<string, string>;
  readonly tables: Record<string, Record<string, unknown>[]>;
}

export function readGoldenLog(name: string): { events: EventEnvelope[]; expected: GoldenExpected } {
  const events = readFileSync(`${LOGS_DIR}${name}.jsonl`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EventEnvelope);
  const expected = JSON.parse(readFileSync(`${LOGS_DIR}${name}.expected.json`, 'utf8')) as GoldenExpected;
  return { events, expected };
}

/** Open a kernel whose database already holds `events` (inserted raw, as another device wrote them). */
export async function kernelFromLog(events: readonly EventEnvelope[]): Promise<Kernel> {
  const opened = await memoryAdapter().open();
  // Golden logs are format 1 (schema 2): written as stored then, upgraded on open like any old database.
  migrate(opened.db, 'golden', MIGRATIONS.filter((m) => m.version <= 2));
  opened.db.transaction(() => {
    for (const e of events) {
      opened.db.exec({
        sql: 'INSERT INTO events (seq, id, stream, stream_seq, type, v, at, actor, device, payload, prev, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
        bind: [e.seq, e.id, e.stream, e.streamSeq, e.type, e.v, e.at, e.actor, e.device, canonicalJson(e.payload), e.prev, e.hash],
      });
    }
  });
  const storage: StorageAdapter = { kind: 'memory', location: ':memory:', open: async () => opened };
  return openKernel({ storage });
}

export function projectionTables(k: Kernel): Record<string, Record<string, unknown>[]> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const p of k.status().projections.filter((x) => (GOLDEN_PROJECTIONS as readonly string[]).includes(x.name))) {
    for (const t of p.tables) out[t] = k.sql.all(`SELECT * FROM "${t}" ORDER BY ${t === 'forest_fts' ? 'rowid' : '1, 2'}`);
  }
  return out;
}

/** Write a golden log exercising every workspace/project event type. */
async function generate(name: string): Promise<void> {
  let now = Date.UTC(2025, 0, 1, 9, 0, 0);
  const k = await openKernel({ clock: () => (now += 60_000) });
  const cmd = (type: string, payload: Record<string, unknown>) =>
    k.command({ type, payload, idempotencyKey: `golden-${type}-${now}` }).value as Record<string, string>;
  const acme = cmd('workspace.create', { name: 'Acme', description: 'Rockets and anvils' }).workspaceId!;
  const beta = cmd('workspace.create', { name: 'Beta' }).workspaceId!;
  const launch = cmd('project.create', { workspaceId: acme, name: 'Launch', description: 'Q3' }).projectId!;
  const old = cmd('project.create', { workspaceId: acme, name: 'Old plan' }).projectId!;
  cmd('project.rename', { projectId: launch, name: 'Launch v2' });
  cmd('project.archive', { projectId: old });
  cmd('workspace.rename', { workspaceId: beta, name: 'Beta Labs' });
  cmd('project.create', { workspaceId: beta, name: 'Ünïcødé ✓ 项目' });
  const gone = cmd('workspace.create', { name: 'Gone' }).workspaceId!;
  cmd('workspace.archive', { workspaceId: gone });
  cmd('workspace.create', { name: 'gone' });
  k.rebuild();
  const events = k.readEvents(0, 10_000);
  const expected: GoldenExpected = {
    events: events.length,
    digests: k.digest([...GOLDEN_PROJECTIONS]),
    tables: projectionTables(k),
  };
  await k.close();
  writeFileSync(`${LOGS_DIR}${name}.jsonl`, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  writeFileSync(`${LOGS_DIR}${name}.expected.json`, JSON.stringify(expected, null, 2) + '\n');
  process.stdout.write(`wrote ${events.length} events to ${LOGS_DIR}${name}.jsonl\n`);
}

/** Recompute `<name>.expected.json` from the committed `<name>.jsonl` (the events stay as they are). */
async function refreshExpected(name: string): Promise<void> {
  const { events } = readGoldenLog(name);
  const k = await kernelFromLog(events);
  const expected: GoldenExpected = { events: events.length, digests: k.digest([...GOLDEN_PROJECTIONS]), tables: projectionTables(k) };
  await k.close();
  writeFileSync(`${LOGS_DIR}${name}.expected.json`, JSON.stringify(expected, null, 2) + '\n');
  process.stdout.write(`wrote ${LOGS_DIR}${name}.expected.json\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv[2] === '--expected') await refreshExpected(process.argv[3] ?? 'workspaces-v1');
  else await generate(process.argv[2] ?? 'workspaces-v1');
}

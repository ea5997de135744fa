/**
 * The contracts read model: each contract, its firings (one per firing key), the duplicates of a
 * key another device fired concurrently, and the skipped ranges.
 *
 * Invariants:
 * 1. Deterministic (rebuild equals incremental apply): `considered` only grows (MAX of what any
 *    device recorded), and the first `contract.fired` of a key in merge order is THE firing of
 *    that key; a later one of another device is a duplicate (firing.ts explains why both exist).
 * 2. A firing's `ended` follows its session's end events (succeeded, failed, cancelled; a retry
 *    runs it again), so the overlap policy counts running sessions from this slice's own tables.
 * 3. `home_device` is the device that last set the contract: it fires cron instants on time,
 *    other devices a little later (scheduler.ts), so two open devices rarely both fire.
 */
import type { Projection, Writer } from '../../kernel/module.ts';
import type { EventEnvelope } from '../../kernel/log/envelope.ts';
import type { z } from 'zod';
import type { ContractSetEvent, events } from './schemas.ts';

type P<T extends keyof typeof events> = z.output<(typeof events)[T]>;

const CREATE = `
  CREATE TABLE contracts (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL, workflow TEXT NOT NULL, inputs TEXT NOT NULL,
    kind TEXT NOT NULL, trigger_spec TEXT NOT NULL, overlap TEXT NOT NULL, catch_up TEXT NOT NULL, enabled INTEGER NOT NULL,
    home_device TEXT NOT NULL, considered INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
  CREATE INDEX contracts_workspace ON contracts (workspace_id, name);
  CREATE TABLE contract_firings (
    key TEXT PRIMARY KEY, contract_id TEXT NOT NULL, instant INTEGER NOT NULL, source TEXT NOT NULL, event_id TEXT,
    session_id TEXT, buffered INTEGER NOT NULL, ended INTEGER NOT NULL, device TEXT NOT NULL, at TEXT NOT NULL) STRICT;
  CREATE INDEX contract_firings_contract ON contract_firings (contract_id, instant);
  CREATE INDEX contract_firings_session ON contract_firings (session_id);
  CREATE TABLE contract_duplicates (
    session_id TEXT PRIMARY KEY, key TEXT NOT NULL, contract_id TEXT NOT NULL, device TEXT NOT NULL, ended INTEGER NOT NULL, at TEXT NOT NULL) STRICT;
  CREATE INDEX contract_duplicates_contract ON contract_duplicates (contract_id);
  CREATE TABLE contract_skips (
    event_id TEXT NOT NULL, idx INTEGER NOT NULL, contract_id TEXT NOT NULL, reason TEXT NOT NULL, count INTEGER,
    first INTEGER NOT NULL, last INTEGER NOT NULL, message TEXT, at TEXT NOT NULL, PRIMARY KEY (event_id, idx)) STRICT;
  CREATE INDEX contract_skips_contract ON contract_skips (contract_id, first);
`;

const SESSION_END = ['session.succeeded', 'session.failed', 'session.cancelled', 'session.retried'];

export const contractsProjection: Projection = {
  name: 'contracts',
  version: 1,
  tables: ['contracts', 'contract_firings', 'contract_duplicates', 'contract_skips'],
  createSql: CREATE,
  eventTypes: ['contract.set', 'contract.enabled', 'contract.disabled', 'contract.removed', 'contract.fired', 'contract.released', 'contract.skipped', ...SESSION_END],
  apply(e: EventEnvelope, w: Writer): void {
    if (e.type.startsWith('session.')) return sessionEnd(e, w);
    const at = Date.parse(e.at);
    switch (e.type) {
      case 'contract.set': {
        const p = e.payload as unknown as ContractSetEvent;
        // A (re)set contract considers its schedule from now on: instants of an old expression
        // are not caught up under a new one.
        w.run(`INSERT INTO contracts (id, workspace_id, name, workflow, inputs, kind, trigger_spec, overlap, catch_up, enabled, home_device, considered, created_at, updated_at)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO UPDATE SET name = excluded.name, workflow = excluded.workflow, inputs = excluded.inputs, kind = excluded.kind,
                 trigger_spec = excluded.trigger_spec, overlap = excluded.overlap, catch_up = excluded.catch_up, enabled = excluded.enabled,
                 home_device = excluded.home_device, considered = MAX(contracts.considered, excluded.considered),
                 updated_at = excluded.updated_at`,
          [p.id, p.workspaceId, p.name, p.workflow, JSON.stringify(p.inputs), p.trigger.kind, JSON.stringify(p.trigger), p.overlap, JSON.stringify(p.catchUp),
            p.enabled ? 1 : 0, e.device, at, e.at, e.at]);
        return;
      }
      case 'contract.enabled':
        // Instants while it was disabled are not caught up.
        w.run('UPDATE contracts SET enabled = 1, considered = MAX(considered, ?), updated_at = ? WHERE id = ?', [at, e.at, (e.payload as P<'contract.enabled'>).id]);
        return;
      case 'contract.disabled':
        w.run('UPDATE contracts SET enabled = 0, updated_at = ? WHERE id = ?', [e.at, (e.payload as P<'contract.disabled'>).id]);
        return;
      case 'contract.removed': {
        const id = (e.payload as P<'contract.removed'>).id;
        for (const t of ['contract_firings', 'contract_duplicates', 'contract_skips']) w.run(`DELETE FROM ${t} WHERE contract_id = ?`, [id]);
        w.run('DELETE FROM contracts WHERE id = ?', [id]);
        return;
      }
      case 'contract.fired': {
        const p = e.payload as unknown as P<'contract.fired'>;
        if (!w.get('SELECT 1 FROM contracts WHERE id = ?', [p.id])) return; // removed meanwhile (merge)
        const first = w.run(`INSERT INTO contract_firings (key, contract_id, instant, source, event_id, session_id, buffered, ended, device, at)
                             VALUES (?,?,?,?,?,?,?,0,?,?) ON CONFLICT (key) DO NOTHING`,
          [p.key, p.id, p.instant, p.source, p.eventId ?? null, p.sessionId ?? null, p.buffered ? 1 : 0, e.device, e.at]);
        if (first === 0 && p.sessionId !== undefined) {
          w.run('INSERT INTO contract_duplicates (session_id, key, contract_id, device, ended, at) VALUES (?,?,?,?,0,?) ON CONFLICT (session_id) DO NOTHING',
            [p.sessionId, p.key, p.id, e.device, e.at]);
        }
        if (p.considered !== undefined) w.run('UPDATE contracts SET considered = MAX(considered, ?) WHERE id = ?', [p.considered, p.id]);
        return;
      }
      case 'contract.released': {
        const p = e.payload as unknown as P<'contract.released'>;
        w.run('UPDATE contract_firings SET session_id = ?, buffered = 0 WHERE key = ? AND session_id IS NULL', [p.sessionId, p.key]);
        return;
      }
      case 'contract.skipped': {
        const p = e.payload as unknown as P<'contract.skipped'>;
        if (!w.get('SELECT 1 FROM contracts WHERE id = ?', [p.id])) return;
        p.ranges.forEach((r, i) => {
          w.run('INSERT INTO contract_skips (event_id, idx, contract_id, reason, count, first, last, message, at) VALUES (?,?,?,?,?,?,?,?,?)',
            [e.id, i, p.id, r.reason, r.count, r.first, r.last, r.message ?? null, e.at]);
        });
        if (p.considered !== undefined) w.run('UPDATE contracts SET considered = MAX(considered, ?) WHERE id = ?', [p.considered, p.id]);
        return;
      }
      default:
        return;
    }
  },
};

function sessionEnd(e: EventEnvelope, w: Writer): void {
  if (!e.stream.startsWith('session:')) return;
  const id = e.stream.slice('session:'.length);
  const ended = e.type === 'session.retried' ? 0 : 1;
  w.run('UPDATE contract_firings SET ended = ? WHERE session_id = ?', [ended, id]);
  w.run('UPDATE contract_duplicates SET ended = ? WHERE session_id = ?', [ended, id]);
}

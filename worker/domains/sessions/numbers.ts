/**
 * Run numbers: every session gets a readable, unique name, its workflow's name and its rank among
 * that workflow's sessions in its workspace ("deploy #12").
 *
 * Invariants:
 * 1. The number is assigned here, in the projection, in merge order (never by the device that
 *    started the run), so every device that holds the same events derives the same numbers: two
 *    devices starting runs of one workflow concurrently each wrote "next"; after merge the earlier in
 *    merge order is #n and the later #n+1 on both (the kernel re-derives projections when a late
 *    event sorts before applied ones).
 * 2. A separate projection with its own table, not a column of `sessions`: the golden logs pin the
 *    `sessions` tables byte for byte, and numbering is a concern of its own (rebuildable from
 *    `session.started` alone).
 */
import type { Projection, Writer } from '../../kernel/module.ts';
import type { EventEnvelope } from '../../kernel/log/envelope.ts';
import type { EventPayload } from './events.ts';

const CREATE = `
  CREATE TABLE session_numbers (
    session_id    TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL,
    workflow_name TEXT NOT NULL,
    number        INTEGER NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX session_numbers_run ON session_numbers (workspace_id, workflow_name, number);
`;

export const sessionNumbersProjection: Projection = {
  name: 'session_numbers',
  version: 1,
  tables: ['session_numbers'],
  createSql: CREATE,
  apply(e: EventEnvelope, w: Writer): void {
    if (e.type !== 'session.started' || !e.stream.startsWith('session:')) return;
    const p = e.payload as EventPayload<'session.started'>;
    const id = e.stream.slice('session:'.length);
    const next = Number(w.value('SELECT COALESCE(MAX(number), 0) + 1 FROM session_numbers WHERE workspace_id = ? AND workflow_name = ?', [p.workspaceId, p.workflow.name]));
    w.run('INSERT OR IGNORE INTO session_numbers (session_id, workspace_id, workflow_name, number) VALUES (?, ?, ?, ?)', [id, p.workspaceId, p.workflow.name, next]);
  },
};

/** "deploy #12". */
export function sessionName(workflow: string, number: number | null): string {
  return number === null ? workflow : `${workflow} #${number}`;
}

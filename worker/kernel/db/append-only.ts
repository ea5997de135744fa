/**
 * The append-only guards of the kernel's evidence tables: triggers that abort UPDATE and DELETE on
 * `events`, `audit` and `checkpoints` (schema 3 creates them; a repair puts back any that are gone).
 */
import type { Sql } from './sql.ts';

const MESSAGES = {
  events: 'events are append-only',
  audit: 'audit is append-only',
  checkpoints: 'checkpoints are append-only',
} as const;

export type AppendOnlyTable = keyof typeof MESSAGES;
export const APPEND_ONLY_TABLES = Object.keys(MESSAGES) as AppendOnlyTable[];

/** The two triggers (`<table>_append_only_update|delete`) that refuse UPDATE and DELETE on `table`. */
export function appendOnlyTriggers(table: AppendOnlyTable, ifNotExists = false): string {
  const guard = ifNotExists ? 'IF NOT EXISTS ' : '';
  return ['UPDATE', 'DELETE'].map((op) =>
    `CREATE TRIGGER ${guard}${table}_append_only_${op.toLowerCase()} BEFORE ${op} ON ${table}
    BEGIN SELECT RAISE(ABORT, '${MESSAGES[table]}'); END;`).join('\n');
}

/** Put every append-only guard back (also the ones an attacker dropped). */
export function restoreAppendOnly(sql: Sql): void {
  for (const table of APPEND_ONLY_TABLES) sql.exec(appendOnlyTriggers(table, true));
}

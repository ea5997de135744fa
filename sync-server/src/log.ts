/**
 * Structured logs: one JSON object per line on stdout.
 *
 * Invariants:
 * 1. A line has `ts` (ISO time), `level`, `event`, and optionally `room`, `addr` and `details`.
 * 2. A room id is cut to its first 8 characters here, whatever the caller passes: the full id is
 *    the room's bearer name (with a token it opens the room), so it never reaches a log.
 * 3. Callers never pass tokens, URLs with a query, or document contents (updates, awareness
 *    states): only sizes, counts, codes and reasons.
 */

export const Level = { info: 'info', warn: 'warn', error: 'error' } as const;
export type Level = (typeof Level)[keyof typeof Level];

export interface LogFields {
  readonly room?: string;
  readonly addr?: string;
  readonly details?: Record<string, unknown>;
}

export type Logger = (level: Level, event: string, fields?: LogFields) => void;

/** A logger that writes one JSON line per call to `write` (stdout by default). */
export function createLogger(write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return (level, event, fields = {}) => {
    const entry: Record<string, unknown> = { ts: new Date().toISOString(), level, event };
    if (fields.room !== undefined) entry.room = shortRoom(fields.room);
    if (fields.addr !== undefined) entry.addr = fields.addr;
    if (fields.details !== undefined) entry.details = fields.details;
    write(`${JSON.stringify(entry)}\n`);
  };
}

/** The part of a room id that may be logged (its first 8 characters). */
export function shortRoom(roomId: string): string {
  return roomId.slice(0, 8);
}

/** A plain-JSON description of a thrown value, for `details` (no stack: logs are for operators). */
export function describeError(err: unknown): { name: string; message: string; code?: string } {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === undefined ? { name: err.name, message: err.message } : { name: err.name, message: err.message, code };
  }
  return { name: 'NonError', message: String(err) };
}

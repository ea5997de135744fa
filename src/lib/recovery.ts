/**
 * Recovery mode as the UI shows it: the facts of the integrity problem that keeps the database
 * read-only (`status().recovery`, a KernelErrorData whose details are the first broken link), and
 * the name of the files a person downloads before a repair.
 */
import type { KernelErrorData } from '../../worker/api.ts';
import { downloadBlob } from './download.ts';

export interface RecoveryFacts {
  readonly reason: string | null;
  readonly seq: number | null;
  readonly device: string | null;
  readonly deviceSeq: number | null;
  readonly message: string;
}

/** Reason, seq, device and message of a recovery error (whatever of them it names). */
export function recoveryFacts(e: KernelErrorData): RecoveryFacts {
  const d = typeof e.details === 'object' && e.details !== null && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : null);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { reason: str(d['reason']), seq: num(d['seq']), device: str(d['device']), deviceSeq: num(d['deviceSeq']), message: e.message };
}

/** `kingdom-log-2026-12-07.json` (the day, local time). */
export function exportFileName(prefix: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${prefix}-${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}.json`;
}

/** Offer `value` as a JSON file download (no server involved: a blob URL, revoked after the click). */
export function downloadJson(fileName: string, value: unknown): void {
  downloadBlob(fileName, new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' }));
}

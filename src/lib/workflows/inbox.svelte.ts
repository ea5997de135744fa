/**
 * The inbox: everything in the open workspace that waits for a person: approvals pending (until
 * decided) and failed sessions not yet looked at. One shared instance: the navigation shows its
 * count, the inbox page its items.
 *
 * "Looked at" is per-device UI state in localStorage, not a kernel command: it is a person's
 * reading position on this screen (like the open workspace), not a fact about the session; an
 * event per page view would grow every device's hash-chained log and wake every subscriber. The
 * price: a failure dismissed on the laptop is still new on the phone.
 */
import { kernel } from '../kernel.svelte.ts';
import type { QueryResult } from '../../../worker/api.ts';

const KEY = 'kingdom.inbox.seen';
const MAX_SEEN = 500;

export type InboxAnswer = QueryResult<'session.inbox'>;

function load(): string[] {
  try {
    const v = JSON.parse(globalThis.localStorage?.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

class Inbox {
  answer = $state.raw<InboxAnswer | null>(null);
  seen = $state.raw<ReadonlySet<string>>(new Set(load()));
  readonly failed = $derived(this.answer ? this.answer.failed.filter((f) => !this.seen.has(f.sessionId)) : []);
  readonly approvals = $derived(this.answer?.approvals ?? []);
  readonly count = $derived(this.approvals.length + this.failed.length);

  async reload(): Promise<void> {
    if (kernel.phase !== 'ready') return;
    const r = await kernel.query('inbox', 'session.inbox', {});
    if (r) this.answer = r;
  }

  /** Mark failed sessions as looked at on this device (kept for the newest MAX_SEEN). */
  markSeen(ids: readonly string[]): void {
    const next = [...this.seen].filter((x) => !ids.includes(x)).concat(ids).slice(-MAX_SEEN);
    this.seen = new Set(next);
    try {
      globalThis.localStorage?.setItem(KEY, JSON.stringify(next));
    } catch {
      // Storage full or blocked: remembered until the reload.
    }
  }
}

export const inbox = new Inbox();

/**
 * The decisions behind the first screen and "Try the demo", pure (unit-tested):
 *
 * - `firstScreen`: what a person sees when they open the app at its bare address. Nobody has any
 *   work yet (no active workspace holds a workflow, a session or a Forest note) → the welcome
 *   screen, which offers the demo. Otherwise their work, in the workspace this device has open:
 *   the Inbox when something waits for them there (an approval, a failure not looked at), else
 *   its workflows, else its sessions, else its Forest; when that workspace is empty but another
 *   is not, the Workspaces screen, to pick it. The work comes first because that is what a
 *   returning person opens the app for; administration stays one click away in the navigation.
 * - `planDemo`: open the active demo when there is one, else create the next one. Its
 *   idempotency key is `kingdom-demo/<this device>/<n>` (n = how many demos, removed ones
 *   included, exist plus one), and the workspace id is derived from that key. Two tabs (or a
 *   double click) compute the same key and the same commands, so the kernel replays the first
 *   result instead of making a second demo; after a removal n grows, so the next demo is a new
 *   one. The device is part of the key, so two devices that each start a demo offline make two
 *   distinct workspaces (which then both show, like any two workspaces created at once).
 * - `removalCommands`: "Remove the demo" as one batch: cancel each unfinished session of the
 *   demo, then archive its workspace (the log is append-only: archived is how a workspace goes).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { TypedCommand } from '../../../worker/api.ts';
import { isDemoWorkspace } from './mark.ts';

export interface WorkCounts {
  readonly workflows: number;
  readonly sessions: number;
  readonly notes: number;
}

export interface FirstRunFacts {
  /** The open workspace: its work, and how many items wait for a person in its Inbox. */
  readonly current: WorkCounts & { readonly waiting: number };
  /** Another active workspace holds a workflow, a session or a note. */
  readonly elsewhere: boolean;
}

export type FirstScreen = 'welcome' | 'inbox' | 'workflows' | 'sessions' | 'forest' | 'workspaces';

export function hasWork(c: WorkCounts): boolean {
  return c.workflows > 0 || c.sessions > 0 || c.notes > 0;
}

export function firstScreen(f: FirstRunFacts): FirstScreen {
  if (f.current.waiting > 0) return 'inbox';
  if (f.current.workflows > 0) return 'workflows';
  if (f.current.sessions > 0) return 'sessions';
  if (f.current.notes > 0) return 'forest';
  return f.elsewhere ? 'workspaces' : 'welcome';
}

export interface KnownWorkspace {
  readonly id: string;
  readonly description: string;
  readonly status: 'active' | 'archived';
}

export type DemoPlan =
  | { readonly kind: 'open'; readonly workspaceId: string }
  | { readonly kind: 'create'; readonly workspaceId: string; readonly key: string };

/** `all`: every workspace, archived ones included (workspace.list with includeArchived). */
export function planDemo(all: readonly KnownWorkspace[], deviceId: string): DemoPlan {
  const demos = all.filter(isDemoWorkspace);
  const active = demos.find((w) => w.status === 'active');
  if (active) return { kind: 'open', workspaceId: active.id };
  const key = `kingdom-demo/${deviceId}/${demos.length + 1}`;
  return { kind: 'create', workspaceId: seededUuid(key), key };
}

/** A UUID (version 8, "custom") made of the SHA-256 of `seed`: the same seed gives the same id. */
export function seededUuid(seed: string): string {
  const b = sha256(new TextEncoder().encode(seed)).slice(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x80;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Cancel `unfinished` (session ids of the demo), then archive the demo's workspace; keys derived from `key`. */
export function removalCommands(workspaceId: string, unfinished: readonly string[], key: string): TypedCommand[] {
  return [
    ...unfinished.map((sessionId, i): TypedCommand => ({ type: 'session.cancel', payload: { sessionId, reason: 'the demo was removed' }, idempotencyKey: `${key}/cancel/${i}` })),
    { type: 'workspace.archive', payload: { workspaceId }, idempotencyKey: `${key}/archive` },
  ];
}

/**
 * Realms in words for the screen: a refused index as a plain banner (what happened, whether anything
 * was installed, what to do), a failed install as a sentence, a capability diff in words, and an
 * install request's progress. Pure functions (test/unit/ui/realms-words.test.ts).
 *
 * Invariant: every sentence says what happened and what to do; the kernel's own message and code
 * are left for the details under it (never the headline).
 */
import type { Capabilities, Refusal } from './types.ts';

const KEY = /\b([a-z][a-z0-9_.-]*@\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\b/;

/** The first `name@version` a kernel message names, if any. */
export function namedVersion(message: string): string | null {
  return KEY.exec(message)?.[1] ?? null;
}

/** The banner's headline for a refused index (an incident or not). */
export function refusalHeadline(r: Pick<Refusal, 'code' | 'message'>): string {
  const nv = namedVersion(r.message);
  switch (r.code) {
    case 'repointed':
      return `This realm's index maps ${nv ?? 'a kata version'} to different bytes than before: someone may have tampered with it. Nothing was installed. Ask the realm's owner before trusting it again.`;
    case 'bad_signature':
      return "This realm's index is not signed by the keys you trusted when you registered it: someone may have tampered with it. Nothing was installed. Ask the realm's owner whether their keys changed.";
    case 'rollback':
      return "This realm served an older index than one seen before (a rollback): someone may be hiding newer versions. Nothing was installed. Refresh later or ask the realm's owner.";
    case 'wrong_realm':
      return "The index at this address belongs to another realm than the one you registered. Nothing was installed. Check the realm's address.";
    case 'key_changed':
      return `A kata${nv ? ` (${nv})` : ''} in this realm is now signed by another publisher key without a signed rotation note: someone may be impersonating its publisher. Nothing was installed.`;
    case 'name_collision':
      return 'Two katas in this realm have names that look alike: one may be impersonating the other. Nothing was installed. Ask the realm\'s owner to rename one.';
    case 'expired':
      return "This realm's index has expired, so its katas cannot be trusted to be current. Nothing was installed. Refresh later; if it stays expired, ask the realm's owner to re-sign it.";
    case 'malformed':
      return "This realm's files are not in the realm format. Nothing was installed. Check the address, or ask the realm's owner.";
    case 'unreachable':
      return "This realm could not be reached. Check the address and your connection, then refresh.";
    case 'split_view':
      return "Two of your devices were served different indexes under the same version by this realm: someone may be showing different devices different files. Nothing was installed.";
    default:
      return `This realm's index was refused. Nothing was installed. Open the details for the reason.`;
  }
}

/** A failed install in one sentence (nothing was installed), by the failure's code. */
export function installFailureSentence(f: { readonly code: string; readonly message: string }, name: string, version: string): string {
  const kata = `${name}@${version}`;
  switch (f.code) {
    case 'tampered':
      return `The pack of ${kata} does not match the realm's signed index: it was changed or damaged on the way. Nothing was installed. Try again later, or tell the realm's owner.`;
    case 'oversize':
      return `The pack of ${kata} is larger than the realm's index declares, so it was refused. Nothing was installed. Tell the realm's owner.`;
    case 'unreachable':
      return `The pack of ${kata} could not be downloaded. Nothing was installed. Check your connection and try again.`;
    case 'incompatible':
      return `${kata} does not run here (see why under the version). Nothing was installed. Pick a compatible version.`;
    case 'undeclared_capability':
    case 'undeclared_host':
      return `The pack of ${kata} asks for more than its proposal said (a host, runner or secret it did not declare), so it was refused. Nothing was installed. Tell the realm's owner.`;
    default:
      return `${kata} could not be installed, and nothing was installed. Open the details for the reason, then try again or ask the realm's owner.`;
  }
}

export interface ListDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly kept: readonly string[];
}

export type CapabilityDiff = { readonly [K in keyof Capabilities]: ListDiff };

const CAP_KEYS = ['hosts', 'runners', 'secrets'] as const;

/** What an upgrade adds and removes, per capability. */
export function diffCapabilities(from: Capabilities, to: Capabilities): CapabilityDiff {
  const one = (a: readonly string[], b: readonly string[]): ListDiff => ({
    added: b.filter((x) => !a.includes(x)),
    removed: a.filter((x) => !b.includes(x)),
    kept: b.filter((x) => a.includes(x)),
  });
  return { hosts: one(from.hosts, to.hosts), runners: one(from.runners, to.runners), secrets: one(from.secrets, to.secrets) };
}

const CAP_NOUN = { hosts: ['host it may call', 'hosts it may call'], runners: ['runner', 'runners'], secrets: ['secret it reads', 'secrets it reads'] } as const;

/** The diff in one sentence ("Adds 1 host it may call (api.example.com); removes the secret OLD_TOKEN."). */
export function diffSentence(d: CapabilityDiff): string {
  const parts: string[] = [];
  for (const k of CAP_KEYS) {
    const [one, many] = CAP_NOUN[k];
    if (d[k].added.length) parts.push(`adds ${d[k].added.length === 1 ? one : many}: ${d[k].added.join(', ')}`);
    if (d[k].removed.length) parts.push(`removes ${d[k].removed.length === 1 ? one : many}: ${d[k].removed.join(', ')}`);
  }
  if (parts.length === 0) return 'The new version asks for exactly the same capabilities.';
  const text = parts.join('; ');
  return `The new version ${text}.`;
}

/** An install request's state in words, for the progress line. */
export function installStageWords(status: string, stage?: string | null): string {
  if (status === 'proposed') return 'Waiting for your approval.';
  if (status === 'rejected') return 'Rejected: nothing was installed.';
  if (status === 'installed') return 'Installed.';
  if (status === 'failed') return 'Failed: nothing was installed.';
  switch (stage) {
    case 'downloading': return 'Downloading the pack…';
    case 'verifying': return 'Verifying its size and SHA-256 against the signed index…';
    case 'registering': return 'Registering its manifests…';
    default: return 'Approved: downloading, verifying and registering…';
  }
}

/** A byte count for people. */
export function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** How long until (or since) an ISO time, coarse ("in 6 days", "2 hours ago"). */
export function relativeTime(iso: string, nowMs: number): string {
  const ms = Date.parse(iso) - nowMs;
  if (Number.isNaN(ms)) return iso;
  const abs = Math.abs(ms);
  const [n, unit] = abs < 90_000 ? [Math.round(abs / 1000), 'second'] : abs < 90 * 60_000 ? [Math.round(abs / 60_000), 'minute']
    : abs < 36 * 3_600_000 ? [Math.round(abs / 3_600_000), 'hour'] : [Math.round(abs / 86_400_000), 'day'];
  const text = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export type TrustState = 'trusted' | 'incident' | 'refused' | 'expired' | 'pending' | 'refreshing' | 'disabled';

/** The realm's last refusal when it is newer than its accepted index (an older one was overcome by a later refresh). */
export function currentRefusal<R extends { readonly at: string }>(r: { readonly index: { readonly acceptedAt: string } | null; readonly lastRefusal: R | null }): R | null {
  if (r.lastRefusal === null) return null;
  if (r.index === null) return r.lastRefusal;
  return Date.parse(r.lastRefusal.at) >= Date.parse(r.index.acceptedAt) ? r.lastRefusal : null;
}

/** A realm's trust state and its line on the screen. */
export function trustState(r: {
  readonly enabled: boolean;
  readonly refreshing: boolean;
  readonly index: { readonly version: number; readonly expiresAt: string; readonly acceptedAt: string } | null;
  readonly lastRefusal: { readonly incident: boolean; readonly at: string } | null;
}, nowMs: number): { readonly state: TrustState; readonly text: string } {
  const refusal = currentRefusal(r);
  if (!r.enabled) return { state: 'disabled', text: 'Disabled: not refreshed, its katas are not offered.' };
  if (refusal?.incident) return { state: 'incident', text: 'Security incident: the last index it served was refused.' };
  if (r.refreshing) return { state: 'refreshing', text: 'Refreshing: fetching and verifying its index…' };
  if (refusal && r.index === null) return { state: 'refused', text: 'Its index was refused; nothing from it is offered.' };
  if (r.index === null) return { state: 'pending', text: 'Not fetched yet: refresh it.' };
  if (Date.parse(r.index.expiresAt) < nowMs) return { state: 'expired', text: `Its index v${r.index.version} has expired: refresh it.` };
  if (refusal) return { state: 'refused', text: `Index v${r.index.version} verified; a later one was refused (see details).` };
  return { state: 'trusted', text: `Index v${r.index.version} verified against the keys you trusted.` };
}

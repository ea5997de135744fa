/**
 * Workspace policy rules (kernel layer 4): which hosts a step may call over http and which runners
 * a step may use. Pure module (no kernel, no DOM): the policies slice validates with it, the
 * engine's guard (worker/engine/policy-guard.ts) judges calls with it, and the Settings screen
 * validates as a person types with the same code.
 *
 * Semantics (docs/policies.md):
 * 1. Deny wins over allow: a call that matches a deny pattern is refused, whatever the allow list says.
 * 2. An empty allow list means "everything not denied"; a non-empty one means "only these".
 * 3. No policy (or four empty lists) allows everything.
 * 4. Host patterns: `example.com` is that host on any port; `*.example.com` is every subdomain at
 *    any depth but not example.com itself; `:8080` after either limits it to that port (a URL
 *    without a port has its scheme's: 80 for http, 443 for https). IP addresses are written as
 *    they are (`127.0.0.1`, `[::1]`); a wildcard applies to names only. Hosts on both sides go
 *    through the URL parser (lower case, punycode, IPv4 spellings such as `127.1`) and lose a
 *    trailing dot before they are compared, so no spelling of a host slips past its pattern.
 * 5. Runner patterns: `http` is that runner; `demo.*` is every runner whose name starts with
 *    `demo.` (not `demo` itself).
 */

export interface PolicyLists {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface Policy {
  readonly hosts: PolicyLists;
  readonly runners: PolicyLists;
}

/** The policy of a workspace that never set one: everything allowed. */
export const OPEN_POLICY: Policy = { hosts: { allow: [], deny: [] }, runners: { allow: [], deny: [] } };

/** At most this many patterns per list, this many characters per pattern. */
export const MAX_PATTERNS = 200;
export const MAX_PATTERN_CHARS = 260;

/** Why a call is refused: the deny pattern that matched, or (rule null) a non-empty allow list it is not in. */
export type Verdict = { readonly ok: true } | { readonly ok: false; readonly list: 'deny' | 'allow'; readonly rule: string | null };

export type PatternKind = 'host' | 'runner';

interface HostPattern {
  readonly wildcard: boolean;
  readonly host: string;
  readonly port: number | null;
}

const RUNNER_NAME = /^[a-z][a-z0-9_.-]{0,99}$/;

/** What is wrong with a host pattern, as a phrase ("write the host alone, without https://"), or null. */
export function hostPatternProblem(pattern: string): string | null {
  const p = parseHostPattern(pattern);
  return typeof p === 'string' ? p : null;
}

/** What is wrong with a runner pattern, as a phrase, or null. */
export function runnerPatternProblem(pattern: string): string | null {
  const p = pattern.trim();
  if (p === '') return 'it is empty';
  if (p === '*') return 'a lone * is not a pattern; to stop every step, deny the runners one by one or by prefix (demo.*)';
  if (p !== pattern) return 'it has spaces around it';
  if (/[A-Z]/.test(p)) return 'runner names are lower case';
  const name = p.endsWith('.*') ? p.slice(0, -2) : p;
  if (name.includes('*')) return 'a * may only end a prefix, as in demo.*';
  if (!RUNNER_NAME.test(name) || name.endsWith('.')) return 'a runner name is lower-case letters, digits, dots, _ and -, starting with a letter';
  return null;
}

/** The problems of one list: each bad or repeated pattern with its 0-based position. */
export function listProblems(kind: PatternKind, list: readonly string[]): { index: number; pattern: string; problem: string }[] {
  const out: { index: number; pattern: string; problem: string }[] = [];
  const seen = new Set<string>();
  list.forEach((pattern, index) => {
    const problem = kind === 'host' ? hostPatternProblem(pattern) : runnerPatternProblem(pattern);
    if (problem) out.push({ index, pattern, problem });
    else if (seen.has(pattern.trim().toLowerCase())) out.push({ index, pattern, problem: 'it is listed twice' });
    seen.add(pattern.trim().toLowerCase());
  });
  return out;
}

/** May a step call `url`? (An address that does not parse is the runner's to refuse: allowed here.) */
export function checkHost(policy: Policy, url: string): Verdict {
  const target = hostOf(url);
  if (!target) return { ok: true };
  // Fail closed: a stored deny rule this version cannot read denies every call rather than none.
  const unreadable = policy.hosts.deny.find((pattern) => typeof parsedHostPattern(pattern) === 'string');
  if (unreadable !== undefined) return { ok: false, list: 'deny', rule: unreadable.trim() };
  return judge(policy.hosts, (pattern) => {
    const p = parsedHostPattern(pattern);
    return typeof p !== 'string' && hostMatches(p, target.host, target.port);
  });
}

/** May a step use the runner `name`? */
export function checkRunner(policy: Policy, name: string): Verdict {
  return judge(policy.runners, (pattern) => {
    const p = pattern.trim();
    return p.endsWith('.*') ? name.startsWith(p.slice(0, -1)) : name === p;
  });
}

/** `host[:port]` of a URL as a person reads it (the port only when the URL names one), or null. */
export function displayHost(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host.replace(/\.(?=$|:)/, '') || null;
  } catch {
    return null;
  }
}

/** The sentence a refused call fails with (the rule named, then what to do). */
export function deniedSentence(kind: PatternKind, target: string, verdict: Extract<Verdict, { ok: false }>): string {
  const what = kind === 'host' ? `calls to ${target}` : `the runner ${target}`;
  const why = verdict.rule !== null ? `denied by ${verdict.rule}` : `not in the allowed ${kind === 'host' ? 'hosts' : 'runners'}`;
  return `The workspace policy does not allow ${what} (${why}). Change the policy in Settings → Policies if this call is intended.`;
}

function judge(lists: PolicyLists, matches: (pattern: string) => boolean): Verdict {
  const denied = lists.deny.find(matches);
  if (denied !== undefined) return { ok: false, list: 'deny', rule: denied.trim() };
  if (lists.allow.length > 0 && !lists.allow.some(matches)) return { ok: false, list: 'allow', rule: null };
  return { ok: true };
}

function hostMatches(p: HostPattern, host: string, port: number | null): boolean {
  if (p.port !== null && p.port !== port) return false;
  return p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host;
}

function hostOf(url: string): { host: string; port: number | null } | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname.replace(/\.$/, '');
  if (host === '') return null;
  const port = u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : u.protocol === 'http:' ? 80 : null;
  return { host, port };
}

/** Parsed patterns (a pure function of the text), so judging a call does not re-parse its policy. */
const parsed = new Map<string, HostPattern | string>();

function parsedHostPattern(pattern: string): HostPattern | string {
  let p = parsed.get(pattern);
  if (p === undefined) {
    if (parsed.size >= 4096) parsed.clear();
    p = parseHostPattern(pattern);
    parsed.set(pattern, p);
  }
  return p;
}

const isIp = (host: string): boolean => host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host);

function parseHostPattern(raw: string): HostPattern | string {
  const p = raw.trim();
  if (p === '') return 'it is empty';
  if (p !== raw) return 'it has spaces around it';
  if (p.length > MAX_PATTERN_CHARS) return `it is longer than ${MAX_PATTERN_CHARS} characters`;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(p);
  if (scheme) return `write the host alone, without ${scheme[1]!.toLowerCase()}://`;
  if (/[/?#@\\\s]/.test(p)) return 'a host pattern is a host name with an optional :port, without a path or spaces';
  if (p === '*' || p === '*.') return 'a lone * is not a host pattern; to stop every call, deny the http runner under Runners';
  const wildcard = p.startsWith('*.');
  const rest = wildcard ? p.slice(2) : p;
  if (rest.includes('*')) return 'a * may only stand for the subdomains, at the start, as in *.example.com';
  let host = rest;
  let port: number | null = null;
  if (!rest.startsWith('[') && rest.indexOf(':') !== rest.lastIndexOf(':')) return 'write an IPv6 address in brackets, as in [::1]:8080';
  const m = /^(.*):([^:\]]*)$/.exec(rest);
  if (m) {
    host = m[1]!;
    if (m[2] === '') return 'the port after : is missing';
    if (!/^\d{1,5}$/.test(m[2]!) || Number(m[2]) < 1 || Number(m[2]) > 65535) return 'the port must be a number from 1 to 65535';
    port = Number(m[2]);
  }
  if (host === '') return 'the host is missing before the port';
  let norm: string;
  try {
    norm = new URL(`http://${host}/`).hostname.replace(/\.$/, '');
  } catch {
    return 'it is not a valid host name';
  }
  if (norm === '' || norm.includes('*')) return 'it is not a valid host name';
  if (wildcard && isIp(norm)) return 'a wildcard works for names, not IP addresses';
  return { wildcard, host: norm, port };
}

/**
 * The checks `realm.install.complete` makes on a downloaded pack before anything is applied
 * (docs/realms.md, "Install"), in order; the first that fails throws `install_refused` with
 * details.code and a sentence:
 *
 *   tampered            its SHA-256 or size is not the approved index entry's
 *   malformed_pack      not a pack, a manifest that does not parse or hash, not the approved kata
 *   undeclared_capabilities  the Kata manifest asks for hosts, runners or secrets the index entry did not declare
 *   undeclared_hosts    an http Tool or step calls a host not declared (or one only known at run time)
 *   undeclared_secrets  a manifest reads a secret not declared
 *   incompatible / missing_runner / missing_skill   the kata's requirements are not met here
 *   missing_dependency  a manifest of the pack needs something neither the pack nor the workspace has
 *
 * Invariant: pure (the state is loaded before), throws or returns nothing. Loaded on demand (code.ts).
 */
import { KernelError, type Json } from '../../kernel/errors.ts';
import { manifestCode } from '../../manifests/code.ts';
import * as code from '../../realms/kernel-code.ts';
import type { Registry } from '../manifests/state.ts';
import type { InstallRow } from './state.ts';

type Code = typeof code;

export interface PackCheckState {
  readonly sha?: string;
  readonly size?: number;
  readonly read: ReturnType<Code['readPack']> | null;
  readonly registry: Registry | null;
  readonly present: ReturnType<Code['presentIn']> | null;
}

const refuse = (code: string, message: string, details: Record<string, Json> = {}): never => {
  throw new KernelError('install_refused', message, { code, ...details });
};

/** `127.0.0.1:8080` and `127.0.0.1` declare the host 127.0.0.1. */
const hostOnly = (h: string): string => (/^[^:]+:\d+$/.test(h) ? h.slice(0, h.lastIndexOf(':')) : h).toLowerCase();

export function checkPackContents(st: PackCheckState, row: InstallRow): void {
  const entry = row.proposal.entry;
  const label = `${row.name}@${row.version}`;
  if (st.read === null) {
    refuse('tampered', `The pack of ${label} does not match the signed index (SHA-256 or size differs): it was changed or damaged on the way; nothing was installed.`,
      { expected: entry.sha256, actual: st.sha ?? null, size: st.size ?? null, declared: entry.size });
  }
  const read = st.read!;
  if (!read.ok) refuse('malformed_pack', read.error.message);
  if (!read.ok) return;
  const { kata, items } = read.pack;
  if (kata.name !== row.name || kata.version !== row.version) refuse('malformed_pack', `The pack holds ${kata.name}@${kata.version}, not the approved ${label}; nothing was installed.`);

  const declared = entry.capabilities;
  const over = (asked: readonly string[], allowed: readonly string[]) => asked.filter((x) => !allowed.includes(x));
  const more = { hosts: over(kata.capabilities.hosts, declared.hosts), runners: over(kata.capabilities.runners, declared.runners), secrets: over(kata.capabilities.secrets, declared.secrets) };
  if (more.hosts.length + more.runners.length + more.secrets.length > 0) {
    refuse('undeclared_capabilities', `The kata ${label} asks for capabilities its index entry did not declare (${[...more.hosts, ...more.runners, ...more.secrets].join(', ')}); nothing was installed.`, { undeclared: more });
  }

  const allowedHosts = new Set(declared.hosts.map(hostOnly));
  const undeclared = code.hostsCalled(items).filter((h) => !allowedHosts.has(h.host.toLowerCase()));
  if (undeclared.length > 0) {
    const names = [...new Set(undeclared.map((u) => (u.host === '{{template}}' ? 'a host chosen at run time' : u.host)))];
    refuse('undeclared_hosts', `The kata ${label} asks for undeclared hosts: ${undeclared[0]!.from} calls ${names.join(', ')}, which its index entry does not declare; nothing was installed.`,
      { hosts: names, calls: undeclared.map((u) => `${u.from} → ${u.host}`) });
  }

  const secrets = new Set<string>();
  for (const i of items) if (i.kind !== 'Kata') for (const m of i.source.matchAll(/\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)/g)) secrets.add(m[1]!);
  const unsecret = [...secrets].filter((s) => !declared.secrets.includes(s)).sort();
  if (unsecret.length > 0) refuse('undeclared_secrets', `The kata ${label} reads secrets its index entry does not declare (${unsecret.join(', ')}); nothing was installed.`, { secrets: unsecret });

  const packTools = items.filter((i) => i.kind === 'Tool').map((i) => i.name);
  const packAgents = items.filter((i) => i.kind === 'Agent').map((i) => i.name);
  const present = { ...st.present!, skills: [...st.present!.skills, ...packAgents] };
  const why = [
    ...code.compatibility({ kingdom: entry.kingdom, runners: entry.requires.runners, skills: entry.requires.skills }, present, packTools).why,
    ...code.compatibility(kata.requires, present, packTools).why,
  ].filter((w, i, all) => all.findIndex((x) => x.message === w.message) === i);
  if (why.length > 0) {
    const c = why.some((w) => w.code === 'kingdom_version') ? 'incompatible' : why[0]!.code;
    refuse(c, `${label} cannot be installed here: ${why.map((w) => w.message).join(' ')} Nothing was installed.`, { why: why as unknown as Json });
  }

  const reg = st.registry!;
  const mc = manifestCode.get();
  const mine = new Set(items.map((i) => mc.keyOf(i)));
  const all = [...reg.manifests.filter((x) => !mine.has(mc.keyOf(x))), ...items.map((i) => i.manifest)];
  const missing = mc.resolve(all).missing.filter((x) => mine.has(x.from)).map((x) => ({ from: x.from, need: `${x.need.kind}/${x.need.name} ${x.need.version}` }));
  if (missing.length > 0) {
    refuse('missing_dependency', `${label} needs ${missing.map((x) => `${x.need} (for ${x.from})`).join(', ')}, which neither the pack nor this workspace has; nothing was installed.`, { missing });
  }
}

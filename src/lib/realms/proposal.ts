/**
 * An install proposal as the checklist a person approves: the version, its pack's SHA-256, size and
 * publisher key, what it needs (Kingdom range, runners, skills), whether it runs here and why not,
 * the capabilities it asks for (runners, hosts it may call, secrets it reads) and, for an upgrade,
 * what changes against the installed version. Pure (test/unit/ui/realms-words.test.ts).
 *
 * The kernel's proposal (`realm.install_proposed`) is read defensively: a field it does not carry
 * is taken from the index entry the person chose (`fallback`), so the checklist is never blank; the
 * capability diff is recomputed from the two capability sets when the proposal gives both.
 */
import type { Capabilities, KataVersion } from './types.ts';
import { diffCapabilities, type CapabilityDiff } from './words.ts';

export interface Checklist {
  readonly name: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number | null;
  readonly publisherKey: string | null;
  readonly kingdom: string;
  readonly requires: { readonly runners: readonly string[]; readonly skills: readonly string[] };
  readonly capabilities: Capabilities;
  readonly compatible: boolean;
  readonly why: readonly string[];
  /** An upgrade (or downgrade): the installed version and the capability diff. */
  readonly upgrade: { readonly from: string; readonly diff: CapabilityDiff } | null;
  /** Names of this kata that look like another one seen before (flagged). */
  readonly lookalike: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
/** Reasons as sentences: strings, or `{ code, message }` objects (the kernel's form). */
export const whyList = (v: unknown): string[] => (Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? x : isObj(x) && typeof x['message'] === 'string' ? x['message'] : null)).filter((x): x is string => x !== null) : []);

function caps(v: unknown): Capabilities | null {
  if (!isObj(v)) return null;
  return { hosts: strs(v['hosts']), runners: strs(v['runners']), secrets: strs(v['secrets']) };
}

/** The first object among the proposal and its usual sub-objects (`entry`, `kata`) that has `key`. */
function pick(p: Obj, key: string): unknown {
  for (const o of [p, p['entry'], p['kata']]) if (isObj(o) && key in o) return o[key];
  return undefined;
}

/** The checklist of a proposal for `name`; `fallback` is the chosen version from the realm's index. */
export function readProposal(proposal: unknown, name: string, version: string, fallback: KataVersion | null): Checklist {
  const p: Obj = isObj(proposal) ? proposal : {};
  const requires = pick(p, 'requires');
  const compat = pick(p, 'compatibility');
  const compatObj = isObj(compat) ? compat : {};
  const capabilities = caps(pick(p, 'capabilities')) ?? fallback?.capabilities ?? { hosts: [], runners: [], secrets: [] };
  const compatible = typeof compatObj['compatible'] === 'boolean' ? compatObj['compatible']
    : typeof pick(p, 'compatible') === 'boolean' ? (pick(p, 'compatible') as boolean) : fallback?.compatible ?? true;
  const why = whyList(compatObj['why']).length ? whyList(compatObj['why']) : whyList(pick(p, 'why')).length ? whyList(pick(p, 'why')) : whyList(fallback?.why);

  const installed = pick(p, 'installed');
  const upgradeObj = pick(p, 'upgradeFrom') ?? pick(p, 'upgrade');
  const fromVersion = str(isObj(upgradeObj) ? upgradeObj['from'] ?? upgradeObj['version'] : null) ?? str(isObj(installed) ? installed['version'] : installed) ?? str(pick(p, 'installedVersion'));
  const fromCaps = caps(isObj(upgradeObj) ? upgradeObj['capabilities'] ?? upgradeObj['fromCapabilities'] : null) ?? caps(isObj(installed) ? installed['capabilities'] : null);
  const given = isObj(upgradeObj) ? upgradeObj['diff'] : pick(p, 'capabilityDiff') ?? pick(p, 'diff');
  const upgrade = fromVersion === null || fromVersion === version ? null : {
    from: fromVersion,
    diff: fromCaps ? diffCapabilities(fromCaps, capabilities) : readDiff(given, capabilities),
  };
  const size = pick(p, 'size');
  return {
    name,
    version: str(pick(p, 'version')) ?? version,
    sha256: str(pick(p, 'sha256')) ?? fallback?.sha256 ?? '',
    size: typeof size === 'number' ? size : fallback?.size ?? null,
    publisherKey: str(pick(p, 'publisherKey')) ?? fallback?.publisherKey ?? null,
    kingdom: str(isObj(requires) ? requires['kingdom'] : null) ?? str(pick(p, 'kingdom')) ?? fallback?.kingdom ?? '*',
    requires: isObj(requires) ? { runners: strs(requires['runners']), skills: strs(requires['skills']) } : fallback?.requires ?? { runners: [], skills: [] },
    capabilities,
    compatible,
    why,
    upgrade,
    lookalike: str(pick(p, 'lookalike')),
  };
}

/** A diff the kernel gave as `{ hosts: { added, removed }, … }` (kept = what the new version still asks). */
function readDiff(v: unknown, now: Capabilities): CapabilityDiff {
  const d = isObj(v) ? v : {};
  const one = (k: keyof Capabilities) => {
    const x = isObj(d[k]) ? (d[k] as Obj) : {};
    const added = strs(x['added']);
    return { added, removed: strs(x['removed']), kept: now[k].filter((c) => !added.includes(c)) };
  };
  return { hosts: one('hosts'), runners: one('runners'), secrets: one('secrets') };
}

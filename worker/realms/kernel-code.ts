/**
 * What the realms domain's decisions and queries use on demand (code.ts): reading a pack, the
 * hosts its manifests call, and compatibility of a kata's requirements with this Kingdom.
 *
 * Compatibility (docs/realms.md, "Discovery and compatibility"), judged in one workspace:
 * - `kingdom`: this Kingdom's version (KINGDOM_VERSION) satisfies the entry's semver range;
 * - runners: each required runner is a built-in runner or an installed Tool (or one the pack brings);
 * - skills: each required skill is present, where the skills of a workspace are its installed
 *   Agents' names, `llm` when any LLM provider is configured and `llm.<kind>` for each provider
 *   kind (`llm.openai`, `llm.anthropic`).
 *
 * Invariant: pure; every unmet requirement is one reason with a code and a sentence.
 */
import { satisfies, validRange } from 'semver';
import { BUILTIN_RUNNERS } from '../manifests/registry.ts';

export { readPack, hostsCalled, buildPack, textSha256, type ReadPack, type PackItem } from './packfile.ts';
export { skeleton } from './names.ts';

export interface Present {
  readonly kingdom: string;
  readonly runners: readonly string[];
  readonly skills: readonly string[];
}

export interface Requirements {
  readonly kingdom: string;
  readonly runners: readonly string[];
  readonly skills: readonly string[];
}

export type Why = { readonly code: 'kingdom_version' | 'missing_runner' | 'missing_skill'; readonly message: string };

/** What a workspace has, from its installed Tools and Agents and its LLM provider kinds. */
export function presentIn(kingdom: string, tools: readonly string[], agents: readonly string[], providerKinds: readonly string[]): Present {
  const skills = new Set<string>(agents);
  if (providerKinds.length > 0) skills.add('llm');
  for (const k of providerKinds) skills.add(`llm.${k}`);
  return { kingdom, runners: [...new Set([...BUILTIN_RUNNERS, ...tools])].sort(), skills: [...skills].sort() };
}

export function compatibility(req: Requirements, present: Present, extraRunners: readonly string[] = []): { compatible: boolean; why: Why[] } {
  const why: Why[] = [];
  const range = req.kingdom.trim() === '' ? '*' : req.kingdom;
  if (validRange(range) === null || !satisfies(present.kingdom, range, { includePrerelease: true })) {
    why.push({ code: 'kingdom_version', message: `It needs Kingdom ${range}; this is Kingdom ${present.kingdom}.` });
  }
  const runners = new Set([...present.runners, ...extraRunners]);
  for (const r of req.runners) if (!runners.has(r)) why.push({ code: 'missing_runner', message: `It needs the runner "${r}": install a Tool named ${r} first.` });
  const skills = new Set(present.skills);
  for (const s of req.skills) {
    if (!skills.has(s)) why.push({ code: 'missing_skill', message: s.startsWith('llm') ? `It needs the skill "${s}": configure an LLM provider${s.includes('.') ? ` of kind ${s.slice(4)}` : ''} in Settings.` : `It needs the skill "${s}": install an Agent named ${s} first.` });
  }
  return { compatible: why.length === 0, why };
}

/** Semver order of two versions (newest first when used as `(a, b) => compareDesc(a, b)`). */
export { compare, rcompare } from 'semver';

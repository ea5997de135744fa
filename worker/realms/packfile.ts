/**
 * A kata pack: one JSON file holding a Kata manifest and every manifest it brings (Workflow,
 * Tools, Agents, …) as YAML texts, each with the SHA-256 of its text (docs/realms.md, "Packs").
 *
 *   { "format": "kingdom.kata-pack/1", "kata": { "name", "version" },
 *     "manifests": [{ "kind", "name", "version", "sha256", "source" }, …] }   (the Kata first)
 *
 * The pack's own bytes are named by their SHA-256 in the signed index (pack.ts checks them);
 * this file reads what is inside, after that check.
 *
 * Invariants:
 * 1. `readPack` never throws: anything that is not a pack is a typed refusal with a sentence.
 * 2. A pack that reads is complete and consistent: every source hashes to its declared SHA-256
 *    and parses as the manifest it declares (kind, name, version); exactly one Kata, the pack's;
 *    no kind/name/version twice, no two Workflows of one name.
 * 3. `buildPack` writes exactly what `readPack` accepts, deterministically (Kata first, then by
 *    kind, name, version), so the same manifests give the same bytes and the same SHA-256.
 */
import '../kernel/zod-setup.ts';
import { z } from 'zod';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseManifest, type Manifest } from '../manifests/parse.ts';
import { MANIFEST_KINDS } from '../manifests/schema.ts';
import { allSteps } from '../manifests/registry.ts';
import { kataName, semver, sha256Hex } from './format.ts';

export const PACK_FORMAT = 'kingdom.kata-pack/1';
/** Manifests in one pack at most. */
export const MAX_PACK_MANIFESTS = 200;

const packSchema = z.strictObject({
  format: z.literal(PACK_FORMAT),
  kata: z.strictObject({ name: kataName, version: semver }),
  manifests: z.array(z.strictObject({
    kind: z.enum(MANIFEST_KINDS),
    name: z.string().min(1).max(300),
    version: z.string().min(1).max(100),
    sha256: sha256Hex,
    source: z.string().min(1).max(256 * 1024),
  })).min(1).max(MAX_PACK_MANIFESTS),
});
export type PackFile = z.infer<typeof packSchema>;

export interface PackItem {
  readonly kind: Manifest['kind'];
  readonly name: string;
  readonly version: string;
  readonly source: string;
  readonly manifest: Manifest;
}

export interface ReadPack {
  readonly kata: Extract<Manifest, { kind: 'Kata' }>;
  /** Every manifest, the Kata first. */
  readonly items: readonly PackItem[];
}

export type PackError = { readonly code: 'malformed_pack'; readonly message: string; readonly details?: Record<string, unknown> };

const utf8 = new TextEncoder();
export const textSha256 = (text: string): string => bytesToHex(sha256(utf8.encode(text)));
const keyOf = (m: { kind: string; name: string; version: string }): string => `${m.kind}/${m.name}@${m.version}`;

/** Reads a pack's text (after its bytes were checked against the index). */
export function readPack(text: string): { ok: true; pack: ReadPack } | { ok: false; error: PackError } {
  const bad = (message: string, details?: Record<string, unknown>) => ({ ok: false as const, error: { code: 'malformed_pack' as const, message, ...(details ? { details } : {}) } });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return bad('The pack is not JSON; nothing was installed.');
  }
  const parsed = packSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    return bad(`The pack is not a kata pack at ${i?.path.join('.') || 'the top'}: ${i?.message ?? 'unknown problem'}; nothing was installed.`);
  }
  const file = parsed.data;
  const items: PackItem[] = [];
  const keys = new Set<string>();
  const workflows = new Set<string>();
  for (const [n, m] of file.manifests.entries()) {
    const where = `manifests[${n}] (${keyOf(m)})`;
    if (textSha256(m.source) !== m.sha256) return bad(`The pack's ${where} does not match its SHA-256; nothing was installed.`, { manifest: keyOf(m) });
    const res = parseManifest(m.source);
    if (!res.ok) {
      const e = res.errors[0]!;
      return bad(`The pack's ${where} is not a valid manifest: line ${e.line}:${e.column} ${e.message}; nothing was installed.`, { manifest: keyOf(m), issues: res.errors.slice(0, 5) });
    }
    const man = res.manifest;
    if (keyOf(man) !== keyOf(m)) return bad(`The pack's ${where} declares ${keyOf(m)} but its text is ${keyOf(man)}; nothing was installed.`);
    if (keys.has(keyOf(m))) return bad(`The pack holds ${keyOf(m)} twice; nothing was installed.`);
    keys.add(keyOf(m));
    if (man.kind === 'Workflow') {
      if (workflows.has(man.name)) return bad(`The pack holds two versions of the workflow ${man.name}; a pack brings one.`);
      workflows.add(man.name);
    }
    items.push({ kind: man.kind, name: man.name, version: man.version, source: m.source, manifest: man });
  }
  const katas = items.filter((i) => i.kind === 'Kata');
  const first = items[0]!;
  if (katas.length !== 1 || first.kind !== 'Kata' || first.name !== file.kata.name || first.version !== file.kata.version) {
    return bad(`A pack holds exactly one Kata, first, named as the pack (${file.kata.name}@${file.kata.version}); this one does not.`);
  }
  return { ok: true, pack: { kata: first.manifest as ReadPack['kata'], items } };
}

/** A pack's text from manifest sources (each must parse; the Kata names the pack). */
export function buildPack(sources: readonly string[]): { ok: true; text: string; sha256: string; size: number; kata: ReadPack['kata'] } | { ok: false; message: string } {
  const items: PackItem[] = [];
  for (const source of sources) {
    const res = parseManifest(source);
    if (!res.ok) return { ok: false, message: `A manifest does not parse: line ${res.errors[0]!.line}:${res.errors[0]!.column} ${res.errors[0]!.message}` };
    items.push({ kind: res.manifest.kind, name: res.manifest.name, version: res.manifest.version, source, manifest: res.manifest });
  }
  const katas = items.filter((i) => i.kind === 'Kata');
  if (katas.length !== 1) return { ok: false, message: `A pack holds exactly one Kata manifest; ${katas.length} were given.` };
  const kata = katas[0]!;
  const rest = items.filter((i) => i !== kata).sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const file: PackFile = {
    format: PACK_FORMAT,
    kata: { name: kata.name, version: kata.version },
    manifests: [kata, ...rest].map((i) => ({ kind: i.kind, name: i.name, version: i.version, sha256: textSha256(i.source), source: i.source })),
  };
  const text = JSON.stringify(file, null, 1);
  const read = readPack(text);
  if (!read.ok) return { ok: false, message: read.error.message };
  return { ok: true, text, sha256: textSha256(text), size: utf8.encode(text).length, kata: kata.manifest as ReadPack['kata'] };
}

/**
 * Every host the pack's manifests may call: a Tool's `http.url`, a Workflow's http task step
 * `with.url`. A URL whose host is a template (`https://{{params.host}}/…`) cannot be known
 * before it runs: it is reported as the host `{{template}}`, which no declaration covers.
 */
export function hostsCalled(items: readonly PackItem[]): { host: string; from: string }[] {
  const out: { host: string; from: string }[] = [];
  const add = (url: unknown, from: string) => {
    if (typeof url !== 'string') return;
    out.push({ host: hostOf(url), from });
  };
  for (const i of items) {
    const m = i.manifest;
    if (m.kind === 'Tool' && m.runner === 'http') add(m.http?.url, `Tool/${m.name}@${m.version}`);
    if (m.kind === 'Workflow') {
      for (const s of allSteps(m.workflow.steps)) if (s.type === 'task' && s.runner === 'http') add(s.with['url'], `Workflow/${m.name}@${m.version} step ${s.id}`);
    }
  }
  return out;
}

function hostOf(url: string): string {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url.trim());
  const authority = m?.[1] ?? '';
  if (authority === '' || authority.includes('{{')) return '{{template}}';
  try {
    return new URL(`http://${authority.slice(authority.lastIndexOf('@') + 1)}`).hostname;
  } catch {
    return '{{template}}';
  }
}

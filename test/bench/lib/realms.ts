/**
 * `realms` benchmark (Node): the client's trust checks against a raw SHA-256 of the same bytes,
 * measured in the same run (docs/benchmarks.md, "Realms and manifests").
 *
 *  - `realms.index.accept`: a signed index of 500 katas (built with worker/realms/publish.ts:
 *    newSigningKey, buildRoot, signIndex; 20 publisher keys, descriptions, tags, capabilities)
 *    served as one JSON file; timed: JSON.parse of the file's text + `acceptIndex` with an empty
 *    trust state (first sight: signature, schema, names, every `name@version` remembered,
 *    publishers pinned).
 *  - `realms.index.refresh`: the same file again against the state the first accept returned (the
 *    same version and digest: a refresh that finds nothing new).
 *  - `realms.pack.check`: `checkPack` (size + SHA-256) of a 10 MiB pack.
 *
 * Baseline of each: `crypto.subtle.digest('SHA-256')` of the same bytes (the index file's UTF-8
 * bytes; the pack's bytes), alternated with the timed call, median of the repetitions.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { buildRoot, newSigningKey, signIndex, type SigningKey } from '../../../worker/realms/publish.ts';
import { acceptIndex, EMPTY_TRUST, type TrustState } from '../../../worker/realms/trust.ts';
import { checkPack } from '../../../worker/realms/pack.ts';
import type { IndexEntry } from '../../../worker/realms/format.ts';
import { mulberry32 } from '../../helpers/prng.ts';
import { figure, type Figure } from './scenarios.ts';
import { median, now } from './stats.ts';

export const REALM_KATAS = 500;
export const PACK_BYTES = 10 * 1024 * 1024;
const WORDS = ['deploy', 'notify', 'build', 'scan', 'backup', 'restore', 'report', 'audit', 'sync', 'index', 'label', 'review', 'triage', 'archive', 'publish', 'measure'];

const letters = (n: number): string => {
  let s = '';
  for (let x = n; ; x = Math.floor(x / 26) - 1) {
    s = String.fromCharCode(97 + (x % 26)) + s;
    if (x < 26) break;
  }
  return s.padStart(3, 'a');
};

async function digestMs(bytes: Uint8Array): Promise<number> {
  const t = now();
  await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return now() - t;
}

/** A realm index of `n` katas, signed; the file's text and what the client needs to check it. */
export async function buildRealm(n: number): Promise<{ root: ReturnType<typeof buildRoot>; text: string; bytes: Uint8Array; issuedMs: number }> {
  const rand = mulberry32(500);
  const rootKey = await newSigningKey();
  const publishers: SigningKey[] = [];
  for (let i = 0; i < 20; i++) publishers.push(await newSigningKey());
  const hex = (): string => bytesToHex(sha256(new Uint8Array(new Float64Array([rand(), rand()]).buffer)));
  const katas: Partial<IndexEntry>[] = [];
  for (let i = 0; i < n; i++) {
    const word = WORDS[i % WORDS.length]!;
    katas.push({
      name: `bench.${word}-${letters(i)}`,
      version: `1.${i % 4}.0`,
      sha256: hex(),
      size: 2_000 + Math.floor(rand() * 500_000),
      publisherKey: publishers[i % publishers.length]!.publicKeyHex,
      description: `Packaged ${word} workflow number ${i}: its agents, tools and schemas, ready to install after review.`,
      tags: [word, 'bench'],
      complexity: (['simple', 'moderate', 'complex'] as const)[i % 3]!,
      kingdom: '>=0.1.0 <1.0.0',
      requires: { runners: ['http', 'transform'], skills: [] },
      capabilities: { hosts: [`${word}.example.com`], runners: ['http', 'transform', `runner.${word}`], secrets: ['TOOL_TOKEN'] },
    });
  }
  const issuedMs = Date.UTC(2026, 11, 1);
  const envelope = await signIndex({
    realm: 'bench', version: 7, issuedAt: new Date(issuedMs).toISOString(), expiresAt: new Date(issuedMs + 30 * 86_400_000).toISOString(),
    katas: katas as IndexEntry[], rotations: [], title: 'Bench realm',
  }, [rootKey]);
  const text = JSON.stringify(envelope);
  return { root: buildRoot('bench', [rootKey]), text, bytes: new TextEncoder().encode(text), issuedMs };
}

export async function benchRealms(quick: boolean, log: (m: string) => void): Promise<Figure[]> {
  const reps = quick ? 5 : 15;
  const realm = await buildRealm(REALM_KATAS);
  log(`realms: index of ${REALM_KATAS} katas, ${realm.bytes.length.toLocaleString('en-US')} bytes; ${reps} repetitions`);
  const at = realm.issuedMs + 86_400_000;
  const accept = async (state: TrustState): Promise<{ ms: number; state: TrustState }> => {
    const t = now();
    const r = await acceptIndex(realm.root, JSON.parse(realm.text), state, at);
    const ms = now() - t;
    if (!r.ok) throw new Error(`realms bench: the index was refused: ${r.refusal.message}`);
    return { ms, state: r.state };
  };
  const first: number[] = [];
  const refresh: number[] = [];
  const indexBase: number[] = [];
  const { state: seen } = await accept(EMPTY_TRUST); // warm-up
  await digestMs(realm.bytes);
  for (let i = 0; i < reps; i++) {
    first.push((await accept(EMPTY_TRUST)).ms);
    indexBase.push(await digestMs(realm.bytes));
    refresh.push((await accept(seen)).ms);
  }

  const pack = new Uint8Array(PACK_BYTES);
  for (let i = 0; i < pack.length; i += 65_536) crypto.getRandomValues(pack.subarray(i, i + 65_536));
  const entry = { name: 'bench.pack', version: '1.0.0', size: pack.length, sha256: bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', pack))) };
  const packMs: number[] = [];
  const packBase: number[] = [];
  checkPack(entry, pack);
  for (let i = 0; i < reps; i++) {
    const t = now();
    const r = checkPack(entry, pack);
    packMs.push(now() - t);
    if (!r.ok) throw new Error(`realms bench: the pack was refused: ${r.refusal.message}`);
    packBase.push(await digestMs(pack));
  }
  const base = median(indexBase);
  const common = { storage: 'Node', unit: 'ms', target: null } as const;
  return [
    figure({ ...common, id: 'realms.index.accept', title: `acceptIndex, ${REALM_KATAS} katas, first sight (JSON.parse + signature + schema + names + state)`, kernel: median(first), baseline: base, baselineName: `raw SHA-256 of the ${realm.bytes.length}-byte index file`, samples: { kernel: first, baseline: indexBase }, extra: { indexBytes: realm.bytes.length, katas: REALM_KATAS } }),
    figure({ ...common, id: 'realms.index.refresh', title: `acceptIndex, ${REALM_KATAS} katas, the same index again (state from the first accept)`, kernel: median(refresh), baseline: base, baselineName: 'raw SHA-256 of the index file', samples: { kernel: refresh, baseline: indexBase }, extra: { indexBytes: realm.bytes.length } }),
    figure({ ...common, id: 'realms.pack.check', title: 'checkPack, 10 MiB (size + SHA-256, @noble/hashes)', kernel: median(packMs), baseline: median(packBase), baselineName: 'raw SHA-256 of the 10 MiB pack (crypto.subtle.digest)', samples: { kernel: packMs, baseline: packBase }, extra: { packBytes: PACK_BYTES } }),
  ];
}

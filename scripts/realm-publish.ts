/**
 * Publish katas to a realm served from any static host (docs/realms.md, "Publishing"): builds or
 * extends a realm directory
 *
 *   <dir>/realm-root.json       the realm's root file (written once, by --init)
 *   <dir>/index.json            the signed index (DSSE envelope), version bumped on every publish
 *   <dir>/packs/<sha256>        each kata pack, named by its SHA-256
 *
 * from folders of manifests (each folder: one Kata manifest and what it brings, *.yaml / *.yml),
 * signed with a key file.
 *
 *   node --import tsx scripts/realm-publish.ts --dir site/ --key realm.key --realm team --init
 *   node --import tsx scripts/realm-publish.ts --dir site/ --key realm.key katas/deploy katas/audit
 *
 * Options: --init (create the key file if missing and write realm-root.json), --realm <name>
 * (with --init), --expires-days <n> (default 30), --title <text>, --publisher-key <file> (the
 * publisher's key; default the realm key).
 *
 * Invariants:
 * 1. A published name@version never changes: publishing other bytes under one is refused (bump
 *    the version); the same bytes again change nothing but the index version and times.
 * 2. Names that look alike after normalisation (worker/realms/names.ts) are refused.
 * 3. What it writes is exactly what clients accept (publish.ts signs, packfile.ts builds).
 */
import { mkdir, readdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPack } from '../worker/realms/packfile.ts';
import { buildRoot, newSigningKey, signIndex, type SigningKey } from '../worker/realms/publish.ts';
import { base64Decode, base64Encode } from '../worker/realms/signing.ts';
import { indexSchema, rootSchema, type IndexEntry, type RealmIndex } from '../worker/realms/format.ts';
import { collisions } from '../worker/realms/names.ts';

export const KEY_FORMAT = 'kingdom.realm-key/1';

/** Writes a new Ed25519 key file (the private key as PKCS#8, base64). */
export async function writeKeyFile(path: string): Promise<SigningKey> {
  const key = await newSigningKey(true);
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', key.privateKey));
  await writeFile(path, JSON.stringify({ format: KEY_FORMAT, publicKey: key.publicKeyHex, privateKeyPkcs8: base64Encode(pkcs8) }, null, 1) + '\n', { mode: 0o600 });
  return key;
}

export async function readKeyFile(path: string): Promise<SigningKey> {
  const json = JSON.parse(await readFile(path, 'utf8')) as { format?: string; publicKey?: string; privateKeyPkcs8?: string };
  if (json.format !== KEY_FORMAT || typeof json.publicKey !== 'string' || typeof json.privateKeyPkcs8 !== 'string') throw new Error(`${path} is not a realm key file (${KEY_FORMAT})`);
  const raw = base64Decode(json.privateKeyPkcs8);
  if (raw === null) throw new Error(`${path}: the private key is not base64`);
  const privateKey = await crypto.subtle.importKey('pkcs8', raw as Uint8Array<ArrayBuffer>, { name: 'Ed25519' }, false, ['sign']);
  return { privateKey, publicKeyHex: json.publicKey };
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Writes realm-root.json for `realm`, signed by `key` (threshold 1). */
export async function initRealm(dir: string, realm: string, key: SigningKey): Promise<void> {
  await mkdir(join(dir, 'packs'), { recursive: true });
  await writeFile(join(dir, 'realm-root.json'), JSON.stringify(buildRoot(realm, [key]), null, 1) + '\n');
}

/** The manifest sources of one kata folder (*.yaml, *.yml), in name order. */
export async function readKataFolder(folder: string): Promise<string[]> {
  const names = (await readdir(folder)).filter((n) => /\.ya?ml$/i.test(n)).sort();
  return Promise.all(names.map((n) => readFile(join(folder, n), 'utf8')));
}

export interface PublishOptions {
  readonly dir: string;
  readonly key: SigningKey;
  readonly publisher?: SigningKey;
  /** Each kata as its manifests' sources. */
  readonly katas: readonly (readonly string[])[];
  readonly nowMs?: number;
  readonly expiresDays?: number;
  readonly title?: string;
}

/** Adds katas to the realm in `dir` and signs the next index version; returns the new index. */
export async function publish(o: PublishOptions): Promise<{ index: RealmIndex; added: string[] }> {
  const root = rootSchema.parse(JSON.parse(await readFile(join(o.dir, 'realm-root.json'), 'utf8')));
  let previous: RealmIndex | null = null;
  if (await exists(join(o.dir, 'index.json'))) {
    const env = JSON.parse(await readFile(join(o.dir, 'index.json'), 'utf8')) as { payload: string };
    previous = indexSchema.parse(JSON.parse(new TextDecoder().decode(base64Decode(env.payload) ?? new Uint8Array())));
  }
  const katas: IndexEntry[] = [...(previous?.katas ?? [])];
  const added: string[] = [];
  await mkdir(join(o.dir, 'packs'), { recursive: true });
  for (const sources of o.katas) {
    const built = buildPack(sources);
    if (!built.ok) throw new Error(built.message);
    const k = built.kata;
    const at = katas.findIndex((e) => e.name === k.name && e.version === k.version);
    if (at >= 0 && katas[at]!.sha256 !== built.sha256) throw new Error(`${k.name}@${k.version} is already published with other bytes; a published version never changes: bump the version.`);
    await writeFile(join(o.dir, 'packs', built.sha256), built.text);
    if (at >= 0) continue;
    katas.push({
      name: k.name, version: k.version, sha256: built.sha256, size: built.size, publisherKey: (o.publisher ?? o.key).publicKeyHex,
      description: k.description ?? '', tags: k.tags, complexity: k.complexity, kingdom: k.requires.kingdom,
      requires: { runners: k.requires.runners, skills: k.requires.skills }, capabilities: k.capabilities, deprecated: false,
    });
    added.push(`${k.name}@${k.version}`);
  }
  const clash = collisions(new Set(katas.map((e) => e.name)));
  if (clash.length > 0) throw new Error(`The names "${clash[0]![0]}" and "${clash[0]![1]}" look alike; rename one before publishing.`);
  const now = o.nowMs ?? Date.now();
  const index: RealmIndex = {
    format: 'kingdom.realm-index/1', realm: root.realm, version: (previous?.version ?? 0) + 1,
    issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + (o.expiresDays ?? 30) * 86_400_000).toISOString(),
    katas, rotations: previous?.rotations ?? [], ...(o.title ?? previous?.title ? { title: o.title ?? previous!.title! } : {}),
  };
  const envelope = await signIndex(index, [o.key]);
  await writeFile(join(o.dir, 'index.json'), JSON.stringify(envelope) + '\n');
  return { index, added };
}

async function main(argv: string[]): Promise<void> {
  const opt = (name: string) => { const i = argv.indexOf(name); if (i < 0) return undefined; const v = argv[i + 1]; argv.splice(i, 2); return v; };
  const flag = (name: string) => { const i = argv.indexOf(name); if (i < 0) return false; argv.splice(i, 1); return true; };
  const dir = opt('--dir');
  const keyPath = opt('--key');
  const realm = opt('--realm');
  const days = opt('--expires-days');
  const title = opt('--title');
  const publisherPath = opt('--publisher-key');
  const init = flag('--init');
  if (!dir || !keyPath) throw new Error('usage: realm-publish.ts --dir <realm dir> --key <key file> [--init --realm <name>] [--expires-days n] [--title t] [--publisher-key f] <kata folder>...');
  let key: SigningKey;
  if (init && !(await exists(keyPath))) key = await writeKeyFile(keyPath);
  else key = await readKeyFile(keyPath);
  if (init) {
    if (!realm) throw new Error('--init needs --realm <name>');
    await initRealm(dir, realm, key);
    console.log(`wrote ${join(dir, 'realm-root.json')} (realm ${realm}, key ${key.publicKeyHex.slice(0, 16)}…)`);
  }
  if (argv.length === 0 && init) return;
  const katas = await Promise.all(argv.map(readKataFolder));
  const { index, added } = await publish({ dir, key, katas, ...(publisherPath ? { publisher: await readKeyFile(publisherPath) } : {}), ...(days ? { expiresDays: Number(days) } : {}), ...(title ? { title } : {}) });
  console.log(`index version ${index.version}: ${index.katas.length} kata versions (${added.length ? `added ${added.join(', ')}` : 'nothing new'}); expires ${index.expiresAt}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}

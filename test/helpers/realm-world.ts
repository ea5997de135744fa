/**
 * A realm for tests: a directory built with scripts/realm-publish.ts (root, signed index, packs),
 * served by the static file server on 127.0.0.1, and a Kingdom (kernel + engine + realm service,
 * in memory) to register it in. Katas are generated from a small template (`kataSources`): a Kata,
 * a Workflow of built-in runners (transform) and an http Tool.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openRoot, type KingdomRoot } from '../../worker/root.ts';
import { memoryAdapter } from '../../worker/kernel/db/memory-adapter.ts';
import { memoryKeyStore } from '../../worker/kernel/log/keys.ts';
import type { Kernel } from '../../worker/kernel/kernel.ts';
import type { RealmService } from '../../worker/services/realm-service.ts';
import { initRealm, publish, writeKeyFile } from '../../scripts/realm-publish.ts';
import type { SigningKey } from '../../worker/realms/publish.ts';
import { serveStatic, type StaticServer } from './static-server.ts';
import { tempDir, removeDir } from './kernel.ts';
import type { InstallRow } from '../../worker/domains/realms/state.ts';

export interface KataSpec {
  name?: string;
  version?: string;
  kingdom?: string;
  skills?: string[];
  runners?: string[];
  hosts?: string[];
  toolUrl?: string;
  greeting?: string;
}

/** A kata's manifests: Kata `name`, Workflow `<name>_flow` (transform), Tool `<name>.ping` (http). */
export function kataSources(s: KataSpec = {}): string[] {
  const name = s.name ?? 'hello.greet';
  const version = s.version ?? '1.0.0';
  const flow = `${name.replace(/[.-]/g, '_')}_flow`;
  const hosts = s.hosts ?? ['127.0.0.1'];
  return [
    `kind: Kata
name: ${name}
version: ${version}
description: Greet someone by name
workflow: ${flow}
tags: [demo, greeting]
complexity: simple
requires: { kingdom: "${s.kingdom ?? '>=0.1.0'}", runners: [${(s.runners ?? ['transform']).join(', ')}], skills: [${(s.skills ?? []).join(', ')}] }
capabilities: { hosts: [${hosts.map((h) => `"${h}"`).join(', ')}], runners: [transform, http], secrets: [] }
`,
    `kind: Workflow
name: ${flow}
version: ${version}
inputs:
  who: { type: string, required: true }
steps:
  - id: greet
    type: task
    runner: transform
    with:
      value: "${s.greeting ?? 'Hello'}, {{ inputs.who }}"
outputs:
  greeting: "{{ steps.greet.output }}"
`,
    `kind: Tool
name: ${name}.ping
version: ${version}
runner: http
http:
  method: GET
  url: "${s.toolUrl ?? 'http://127.0.0.1:9/ping'}"
`,
  ];
}

export interface RealmSite {
  readonly dir: string;
  readonly key: SigningKey;
  readonly server: StaticServer;
  readonly root: unknown;
  /** Publish more katas (next index version). */
  publish(katas: string[][], opts?: { nowMs?: number; expiresDays?: number }): Promise<void>;
  read(path: string): Promise<string>;
  write(path: string, text: string): Promise<void>;
  close(): Promise<void>;
}

export async function realmSite(realm = 'team', katas: string[][] = [kataSources()], opts: { key?: SigningKey; nowMs?: number } = {}): Promise<RealmSite> {
  const dir = tempDir('kingdom-realm-');
  const key = opts.key ?? await writeKeyFile(join(dir, '..', `${realm}-${randomUUID()}.key`));
  await initRealm(dir, realm, key);
  await publish({ dir, key, katas, ...(opts.nowMs ? { nowMs: opts.nowMs } : {}) });
  const server = await serveStatic(dir);
  const root = JSON.parse(await readFile(join(dir, 'realm-root.json'), 'utf8')) as unknown;
  return {
    dir, key, server, root,
    publish: async (more, o = {}) => { await publish({ dir, key, katas: more, ...o }); },
    read: (p) => readFile(join(dir, p), 'utf8'),
    write: (p, text) => writeFile(join(dir, p), text),
    close: async () => { await server.close(); removeDir(dir); },
  };
}

export interface World {
  readonly root: KingdomRoot;
  readonly k: Kernel;
  readonly svc: RealmService;
  /** The realm service's clock (epoch ms); tests move it. */
  now: number;
  cmd(type: string, payload: unknown): { value: Record<string, unknown> };
  q<T>(name: string, params?: unknown): T;
  close(): Promise<void>;
}

export async function world(opts: { fetch?: typeof fetch } = {}): Promise<World> {
  const w = { now: Date.now() } as { now: number };
  const root = await openRoot({ storage: memoryAdapter(), keys: memoryKeyStore(), realms: { clock: () => w.now, ...(opts.fetch ? { fetch: opts.fetch } : {}) } });
  const svc = (await root.realmsStarted)!;
  const k = root.kernel;
  return Object.assign(w, {
    root, k, svc,
    cmd: (type: string, payload: unknown) => k.command({ type, payload, idempotencyKey: `t-${randomUUID()}` }) as unknown as { value: Record<string, unknown> },
    q: <T>(name: string, params: unknown = {}) => k.query(name, params) as T,
    close: async () => { await k.close(); },
  });
}

/** Polls `fn` until it returns a value that is not undefined/false (5 s at most). */
export async function until<T>(fn: () => T | undefined | false, what = 'condition'): Promise<T> {
  const end = Date.now() + 5000;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export type Realm = { id: string; refreshing: boolean; index: { version: number } | null; lastRefusal: { code: string } | null };

export async function register(w: World, id: string, url: string, root: unknown): Promise<Realm> {
  w.cmd('realm.register', { id, kind: 'custom', url, root });
  return until(() => w.q<Realm[]>('realm.list').find((r) => r.id === id && !r.refreshing), `realm ${id} refreshed`);
}

export async function installAndWait(w: World, realm: string, name: string, version: string): Promise<InstallRow> {
  const { requestId } = w.cmd('realm.install.request', { realm, name, version }).value as { requestId: string };
  w.cmd('realm.install.approve', { requestId });
  return until(() => w.q<InstallRow[]>('realm.installs', {}).find((r) => r.requestId === requestId && (r.status === 'installed' || r.status === 'failed')), 'install settled');
}

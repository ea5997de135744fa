/**
 * The sync service as the app runs it (worker/sync/service.ts), over an in-process relay
 * (test/helpers/fake-relay.ts: the real Yjs sync protocol, no network): turn sync on, pair by
 * link with the code compared on both sides, converge, remove a device with a new epoch that the
 * removed device cannot follow, and share a secret sealed to the epoch key.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { FakeRelay } from '../../helpers/fake-relay.ts';
import { memKernel, newKey, type Kernel } from '../../helpers/kernel.ts';
import { SyncService, type SyncView } from '../../../worker/sync/service.ts';
import { memorySyncStore } from '../../../worker/sync/store.ts';
import { deriveRoom } from '../../../worker/sync/keys.ts';
import { DEFAULT_WORKSPACE_ID } from '../../../worker/domains/workspaces/default-id.ts';

const RELAY = 'ws://relay.test/sync';

interface Dev { k: Kernel; s: SyncService; store: ReturnType<typeof memorySyncStore> }

/** Rooms whose kept copy a service dropped (after leaving them for good). */
const dropped: string[] = [];

async function dev(relay: FakeRelay, name: string): Promise<Dev> {
  const k = await memKernel();
  k.command({ type: 'device.name', payload: { name }, idempotencyKey: newKey() });
  const store = Object.assign(memorySyncStore(), { dropDoc: async (roomId: string) => void dropped.push(roomId) });
  const s = await SyncService.start({ kernel: k, store, WebSocket: relay.WebSocket, retireAfterMs: 10 });
  return { k, s, store };
}

async function until(what: string, ok: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const note = (k: Kernel, title: string) => k.command({ type: 'forest.node.create', payload: { title, body: 'b', tags: [] }, idempotencyKey: newKey() });
const titles = (k: Kernel) => (k.query('forest.node.list', {}) as { nodes: { title: string }[] }).nodes.map((n) => n.title).sort();
/** The last event of `device`'s chain a room's doc holds. */
const lastOf = (doc: Y.Doc, device: string) => Math.max(0, ...[...doc.getMap('chunks').keys()].filter((k) => k.startsWith(`${device}/`)).map((k) => Number(k.split('-').pop())));
const step = (d: Dev) => d.s.view().pairing?.step;

/** Pair `joiner` into `inviter`'s sync, confirming the code on both sides. */
async function pair(inviter: Dev, joiner: Dev, name: string): Promise<string> {
  const v = await inviter.s.act({ kind: 'invite', appUrl: 'https://app.example/#devices' });
  assert.equal(v.pairing?.step, 'waiting');
  const link = (v.pairing as { link: string }).link;
  assert.match(link, /^https:\/\/app\.example\/#pair=[A-Za-z0-9_-]+$/);
  await joiner.s.act({ kind: 'join', link, name });
  await until('codes shown', () => step(inviter) === 'compare' && step(joiner) === 'compare');
  const code = (p: SyncView['pairing']) => (p as { code: string }).code;
  assert.equal(code(inviter.s.view().pairing), code(joiner.s.view().pairing));
  await inviter.s.act({ kind: 'confirm', accept: true });
  await joiner.s.act({ kind: 'confirm', accept: true });
  await until('paired', () => step(inviter) === 'done' && step(joiner) === 'done');
  return code(inviter.s.view().pairing === null ? null : joiner.s.view().pairing);
}

describe('sync service', () => {
  test('turn on, pair by link, converge; remove a device: a new epoch the removed one cannot follow', async () => {
    const relay = new FakeRelay();
    const a = await dev(relay, 'Laptop');
    const b = await dev(relay, 'Tablet');
    const c = await dev(relay, 'Phone');
    try {
      assert.equal(a.s.view().status.state, 'off');
      await assert.rejects(a.s.act({ kind: 'enable', relayUrl: 'http://nope' }), /ws:\/\/ or wss:\/\//);
      assert.equal(a.store.current.enabled, false);
      await a.s.act({ kind: 'enable', relayUrl: RELAY });
      assert.equal(a.s.view().epoch, 1);
      note(a.k, 'from laptop');
      await pair(a, b, 'Tablet');
      await pair(a, c, 'Phone');
      assert.deepEqual(Array.from(b.store.current.epochs[0]!.key), Array.from(a.store.current.epochs[0]!.key));
      note(b.k, 'from tablet');
      await until('all three see both notes', () => [a, b, c].every((d) => titles(d.k).length === 2));
      const list = a.k.query('device.list') as { device: string; name: string }[];
      assert.equal(list.find((d) => d.device === b.k.deviceId)?.name, 'Tablet');
      // Every device announced its sealing key once up to date.
      await until('keys announced', () => (a.k.query('sync.keys') as unknown[]).length === 3);

      const oldRoom = (await deriveRoom(a.store.current.epochs[0]!.key)).roomId;
      await a.s.act({ kind: 'remove_device', device: c.k.deviceId, reason: 'lost' });
      const rotationSeq = a.k.ownHead.deviceSeq;
      assert.equal(a.s.view().epoch, 2);
      await until('the tablet follows to epoch 2', () => b.s.view().epoch === 2);
      assert.notEqual(a.s.view().room, null);
      await until('the tablet in the new room', () => b.s.view().room === a.s.view().room);
      note(a.k, 'after removal');
      await until('the tablet gets it in the new room', () => titles(b.k).includes('after removal'));
      await until('the phone learns it was removed', () => c.s.view().status.problem?.code === 'device_removed');
      assert.equal(c.s.view().epoch, 1, 'the removed device has no key for epoch 2');
      await new Promise((r) => setTimeout(r, 200));
      assert.ok(!titles(c.k).includes('after removal'), 'the removed device never reads what was written after');
      // The old room (whose key the removed device holds) has the laptop's chain up to the
      // rotation and nothing after it.
      await until('the old room has the rotation', () => lastOf(relay.docs.get(oldRoom)!, a.k.deviceId) === rotationSeq);
      await until('the old room, left for good, is dropped from the kept copies', () => dropped.includes(oldRoom));
      assert.ok(a.k.ownHead.deviceSeq > rotationSeq);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(lastOf(relay.docs.get(oldRoom)!, a.k.deviceId), rotationSeq);
    } finally {
      for (const d of [a, b, c]) { await d.s.stop(); await d.k.close(); }
    }
  });

  test('two devices remove two others at once: the earlier rotation counts, the other device starts one more without the removed', async () => {
    const relay = new FakeRelay();
    const [a, b, c, d] = await Promise.all([dev(relay, 'A'), dev(relay, 'B'), dev(relay, 'C'), dev(relay, 'D')]);
    try {
      await a.s.act({ kind: 'enable', relayUrl: RELAY });
      for (const [x, n] of [[b, 'B'], [c, 'C'], [d, 'D']] as const) await pair(a, x, n);
      await until('keys announced', () => (a.k.query('sync.keys') as unknown[]).length === 4 && (b.k.query('sync.keys') as unknown[]).length === 4);
      await Promise.all([a.s.act({ kind: 'remove_device', device: c.k.deviceId }), b.s.act({ kind: 'remove_device', device: d.k.deviceId })]);
      const latest = (x: Dev) => x.store.current.epochs.at(-1)!;
      await until('A and B share one newest epoch', () => latest(a).epoch === latest(b).epoch && latest(a).epoch >= 2
        && Buffer.from(latest(a).key).equals(Buffer.from(latest(b).key)) && a.s.view().room !== null && a.s.view().room === b.s.view().room, 10_000);
      await new Promise((r) => setTimeout(r, 300));
      // Both rotated epoch 2 at once (neither knew of the other): the loser started epoch 3.
      assert.deepEqual((a.k.query('sync.epochs') as { epoch: number }[]).map((r) => r.epoch), [2, 2, 3]);
      assert.equal(latest(a).epoch, 3);
      const key = Buffer.from(latest(a).key);
      for (const x of [c, d]) assert.ok(!x.store.current.epochs.some((e) => Buffer.from(e.key).equals(key)), 'a removed device has no key of the epoch A and B use');
      note(a.k, 'after both removals');
      await until('B gets it', () => titles(b.k).includes('after both removals'));
    } finally {
      for (const x of [a, b, c, d]) { await x.s.stop(); await x.k.close(); }
    }
  });

  test('a secret is shared only when asked, sealed: the other device stores the value, the log never holds it', async () => {
    const relay = new FakeRelay();
    const a = await dev(relay, 'Laptop');
    const b = await dev(relay, 'Tablet');
    try {
      await a.s.act({ kind: 'enable', relayUrl: RELAY });
      await pair(a, b, 'Tablet');
      const ws = DEFAULT_WORKSPACE_ID;
      a.k.command({ type: 'secret.set', payload: { workspaceId: ws, name: 'OPENAI_KEY', value: 'sk-marker-123' }, idempotencyKey: newKey() });
      a.k.command({ type: 'secret.set', payload: { workspaceId: ws, name: 'KEPT_HERE', value: 'stays-local' }, idempotencyKey: newKey() });
      await until('names arrive', () => (b.k.query('secret.list', { workspaceId: ws }) as unknown[]).length === 2);
      assert.deepEqual(b.k.systemQuery('secret.values', { workspaceId: ws }), {}, 'values stay on their device by default');
      const stored = (k: Kernel) => Object.fromEntries((k.query('secret.list', { workspaceId: ws }) as { name: string; stored: boolean }[]).map((x) => [x.name, x.stored]));
      assert.deepEqual(stored(b.k), { KEPT_HERE: false, OPENAI_KEY: false });
      await a.s.act({ kind: 'share_secret', workspaceId: ws, name: 'OPENAI_KEY' });
      await until('the shared value arrives', () => (b.k.systemQuery('secret.values', { workspaceId: ws }) as Record<string, string>)['OPENAI_KEY'] === 'sk-marker-123');
      assert.equal((b.k.systemQuery('secret.values', { workspaceId: ws }) as Record<string, string>)['KEPT_HERE'], undefined);
      assert.deepEqual(stored(b.k), { KEPT_HERE: false, OPENAI_KEY: true });
      // A value set later on the tablet is not overwritten by the older share.
      b.k.command({ type: 'secret.set', payload: { workspaceId: ws, name: 'OPENAI_KEY', value: 'tablet-own' }, idempotencyKey: newKey() });
      await until('the laptop has the name update', () => a.k.ownHead.deviceSeq > 0 && (a.k.query('secret.list', { workspaceId: ws }) as unknown[]).length === 2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal((b.k.systemQuery('secret.values', { workspaceId: ws }) as Record<string, string>)['OPENAI_KEY'], 'tablet-own');
      const log = JSON.stringify(a.k.exportLog());
      assert.ok(!log.includes('sk-marker-123'), 'the value is never in the log');
      for (const doc of relay.docs.values()) assert.ok(!Buffer.from(Y.encodeStateAsUpdate(doc)).includes('sk-marker'), 'nor at the relay');
      await assert.rejects(a.s.act({ kind: 'share_secret', workspaceId: ws, name: 'MISSING' }), /no secret named MISSING/);
    } finally {
      for (const d of [a, b]) { await d.s.stop(); await d.k.close(); }
    }
  });

  test('pairing: declined on one side shares nothing; a link made here is refused here; a bad link is a sentence', async () => {
    const relay = new FakeRelay();
    const a = await dev(relay, 'Laptop');
    const b = await dev(relay, 'Tablet');
    try {
      await a.s.act({ kind: 'enable', relayUrl: RELAY });
      const v = await a.s.act({ kind: 'invite', appUrl: 'https://app.example/' });
      const link = (v.pairing as { link: string }).link;
      await assert.rejects(a.s.act({ kind: 'join', link, name: 'Self' }), /made on this device/);
      await assert.rejects(b.s.act({ kind: 'join', link: 'https://app.example/#pair=garbage', name: 'Tablet' }), /incomplete or damaged/);
      await b.s.act({ kind: 'join', link, name: 'Tablet' });
      await until('codes shown', () => step(a) === 'compare' && step(b) === 'compare');
      await b.s.act({ kind: 'confirm', accept: false });
      await until('declined', () => step(b) === 'failed');
      await a.s.act({ kind: 'cancel_pairing' });
      assert.equal(step(a), 'failed');
      assert.equal(b.store.current.enabled, false);
      assert.equal(b.store.current.epochs.length, 0, 'the joiner got no key');
    } finally {
      for (const d of [a, b]) { await d.s.stop(); await d.k.close(); }
    }
  });
});

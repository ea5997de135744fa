/**
 * Packs (worker/realms/pack.ts) fetched from a real HTTP server on 127.0.0.1: the right bytes
 * pass; a changed byte, a truncated body, a body larger than declared (even endless) and an
 * error status are typed refusals, and an endless body is cut off just past the declared size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { checkPack, fetchPack } from '../../../worker/realms/pack.ts';
import type { IndexEntry } from '../../../worker/realms/format.ts';

const PACK = new TextEncoder().encode('name: deploy\nversion: 1.0.0\n'.repeat(200));
const entry = (over: Partial<IndexEntry> = {}): IndexEntry => ({
  name: 'deploy', version: '1.0.0', sha256: bytesToHex(sha256(PACK)), size: PACK.length, publisherKey: 'a'.repeat(64), description: '', tags: [],
  complexity: 'simple', kingdom: '*', requires: { runners: [], skills: [] }, capabilities: { hosts: [], runners: [], secrets: [] }, deprecated: false, ...over,
});

async function serve(): Promise<{ server: Server; url: string; endlessSent: () => number }> {
  let endless = 0;
  const server = createServer((req, res) => {
    if (req.url === '/good') res.end(PACK);
    else if (req.url === '/flipped') { const b = Buffer.from(PACK); b.writeUInt8(b.readUInt8(10) ^ 1, 10); res.end(b); }
    else if (req.url === '/short') res.end(PACK.subarray(0, PACK.length - 1));
    else if (req.url === '/long') res.end(Buffer.concat([PACK, Buffer.from('x')]));
    else if (req.url === '/endless') {
      const chunk = Buffer.alloc(16_384, 120);
      const pump = (): void => {
        while (endless < 64 * 1024 * 1024 && res.write(chunk)) endless += chunk.length;
        if (endless >= 64 * 1024 * 1024) res.end();
      };
      res.on('drain', pump);
      res.on('close', () => res.off('drain', pump));
      pump();
    } else { res.statusCode = 404; res.end('no'); }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, url: `http://127.0.0.1:${port}`, endlessSent: () => endless };
}

test('checkPack: exact bytes pass; other bytes, fewer or more are refused', () => {
  assert.deepEqual(checkPack(entry(), PACK), { ok: true });
  const flipped = PACK.slice();
  flipped[0]! ^= 1;
  const t = checkPack(entry(), flipped);
  assert.equal(!t.ok && t.refusal.code, 'tampered');
  assert.equal(!checkPack(entry(), PACK.subarray(1)).ok, true);
  const over = checkPack(entry({ size: PACK.length - 1 }), PACK);
  assert.equal(!over.ok && over.refusal.code, 'oversize');
});

test('fetchPack over HTTP: good, flipped, short, long, endless and missing', async () => {
  const { server, url, endlessSent } = await serve();
  try {
    const good = await fetchPack(`${url}/good`, entry());
    assert.equal(good.ok, true, 'the right bytes pass');
    for (const [path, code] of [['flipped', 'tampered'], ['short', 'tampered'], ['long', 'oversize'], ['missing', 'unreachable']] as const) {
      const r = await fetchPack(`${url}/${path}`, entry());
      assert.equal(r.ok ? 'ok' : r.refusal.code, code, path);
    }
    const endless = await fetchPack(`${url}/endless`, entry());
    assert.equal(endless.ok ? 'ok' : endless.refusal.code, 'oversize');
    assert.ok(endlessSent() < 8 * 1024 * 1024, `the download stopped early (server wrote ${endlessSent()} bytes)`);
    const closed = await fetchPack('http://127.0.0.1:1/x', entry());
    assert.equal(closed.ok ? 'ok' : closed.refusal.code, 'unreachable');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * Device sync end to end: the built app (OPFS, its CSP) in two Chromium profiles as two devices,
 * a real relay process (sync-server/) on 127.0.0.1 behind a TCP pass-through that records what
 * the relay sends and can cut the network.
 *
 * Invariants checked:
 * 1. Sync is turned on and a device paired through the screens only: link, the same code on both
 *    screens, confirmed on both.
 * 2. Offline edits on both devices converge once the network is back; the relay restarted (SIGKILL)
 *    in the middle of a large sync loses nothing.
 * 3. Removing a device moves the others to a new epoch: the removed device reads nothing written
 *    after, and nothing it writes counts.
 * 4. Neither the relay's stored data nor its traffic contains plaintext (a known marker); no CSP
 *    violations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, Socket, type Server } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { Cleanup, ensureAppBuild, pollUntil } from './support.ts';
import { appCsp, cspViolations, launch, recordCspViolations } from './app-support.ts';
import { AppPage } from './pages/app-page.ts';
import { KingdomApiPage, unwrap } from './pages/kingdom-api.ts';
import { serveStatic } from '../helpers/static-server.ts';
import { startRelay, tempDir, type RelayProcess } from '../../sync-server/test/helpers.ts';

const UI_MS = 30_000;
const MARKER = 'PlaintextMarker-7f3a';

/** A TCP pass-through to the relay: records the relay's bytes to clients; `cut()` drops every connection and refuses new ones. */
class Wire {
  readonly fromRelay: Buffer[] = [];
  private readonly sockets = new Set<Socket>();
  private down = false;
  private constructor(private readonly server: Server, readonly port: number, public relayPort: number) {}

  static async open(relayPort: number): Promise<Wire> {
    let wire: Wire | null = null;
    const server = createServer((client) => wire!.accept(client));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    wire = new Wire(server, (server.address() as { port: number }).port, relayPort);
    return wire;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  private accept(client: Socket): void {
    if (this.down) return void client.destroy();
    const upstream = new Socket();
    upstream.connect(this.relayPort, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => upstream.write(d));
    upstream.on('data', (d: Buffer) => {
      this.fromRelay.push(Buffer.from(d));
      client.write(d);
    });
    const end = () => { client.destroy(); upstream.destroy(); this.sockets.delete(client); this.sockets.delete(upstream); };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  cut(): void {
    this.down = true;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Device { page: Page; ui: AppPage; api: KingdomApiPage }

describe('device sync in the app (two Chromium devices, a real relay)', () => {
  const cleanup = new Cleanup();
  let relay: RelayProcess;
  let dataDir: string;
  let wire: Wire;
  let laptop: Device;
  let tablet: Device;
  let appUrl: string;

  async function device(name: string, url: string): Promise<Device> {
    const context = await launch(cleanup, cleanup.tempDir(`kingdom-e2e-sync-${name}-`));
    await recordCspViolations(context);
    const page = await context.newPage();
    await page.goto(url);
    const api = new KingdomApiPage(page);
    assert.equal((await api.ready()).storage, 'opfs');
    const ui = new AppPage(page, UI_MS);
    await ui.waitReady();
    return { page, ui, api };
  }

  const chip = (d: Device, state: string) => d.page.locator(`[data-testid="sync-chip"][data-state="${state}"]`).waitFor({ timeout: UI_MS });
  const names = (d: Device) => d.api.workspaceNames();
  const hasAll = async (d: Device, wanted: string[]) => {
    const have = await names(d);
    return wanted.every((w) => have.includes(w)) ? have : undefined;
  };

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    dataDir = await tempDir();
    relay = await startRelay({ dataDir });
    cleanup.add('relay', () => relay.kill());
    wire = await Wire.open(relay.port);
    cleanup.add('wire', () => wire.close());
    const server = await serveStatic(ensureAppBuild(), { headers: { 'content-security-policy': await appCsp() } });
    cleanup.add('server', () => server.close());
    appUrl = `${server.url}/`;
    laptop = await device('laptop', `${appUrl}#/devices`);
  });
  after(() => cleanup.run());

  test('turn on sync and pair a second device through the screens', async () => {
    await laptop.page.getByTestId('sync-relay-url').fill(wire.url);
    await laptop.page.getByTestId('sync-enable').click();
    await chip(laptop, 'up_to_date');
    await laptop.page.getByTestId('sync-invite').click();
    const link = await laptop.page.getByTestId('pair-link').inputValue({ timeout: UI_MS });
    assert.match(link, /#pair=[A-Za-z0-9_-]+$/);
    await laptop.page.getByTestId('pair-qr').waitFor({ timeout: UI_MS });

    tablet = await device('tablet', link);
    assert.ok(!tablet.page.url().includes('#pair='), 'the secret leaves the address bar');
    await tablet.page.getByTestId('sync-join-name').fill('Tablet');
    await tablet.page.getByTestId('sync-join').click();
    const codeA = await laptop.page.getByTestId('pair-code').innerText({ timeout: UI_MS });
    const codeB = await tablet.page.getByTestId('pair-code').innerText({ timeout: UI_MS });
    assert.match(codeA, /^\d{3} \d{3}$/);
    assert.equal(codeA, codeB, 'both screens show the same code');
    await laptop.page.getByTestId('pair-confirm').click();
    await tablet.page.getByTestId('pair-confirm').click();
    await laptop.page.getByTestId('pair-done').waitFor({ timeout: UI_MS });
    await tablet.page.getByTestId('pair-done').waitFor({ timeout: UI_MS });

    await laptop.api.createWorkspace(`${MARKER} laptop`);
    await pollUntil(() => hasAll(tablet, [`${MARKER} laptop`]), { timeoutMs: UI_MS, intervalMs: 200, what: 'the tablet has the laptop workspace' });
    await laptop.page.locator(`[data-testid="device-row"]`, { hasText: 'Tablet' }).waitFor({ timeout: UI_MS });
    await chip(tablet, 'up_to_date');
  });

  test('offline edits on both converge; a relay killed mid-sync loses nothing', async () => {
    wire.cut();
    await chip(laptop, 'offline');
    await laptop.api.createWorkspace('Offline on the laptop');
    await tablet.api.createWorkspace('Offline on the tablet');
    wire.restore();
    await pollUntil(() => hasAll(laptop, ['Offline on the tablet']), { timeoutMs: UI_MS, intervalMs: 200, what: 'the laptop gets the tablet offline edit' });
    await pollUntil(() => hasAll(tablet, ['Offline on the laptop']), { timeoutMs: UI_MS, intervalMs: 200, what: 'the tablet gets the laptop offline edit' });

    // 400 workspaces in one batch, and the relay killed while they travel.
    const big = Array.from({ length: 400 }, (_, i) => `Bulk ${i}`);
    unwrap(await laptop.api.commandBatch(big.map((name) => ({ type: 'workspace.create', payload: { name }, idempotencyKey: `bulk:${name}` }))), 'bulk');
    relay.kill('SIGKILL');
    await relay.exited;
    relay = await startRelay({ dataDir });
    wire.relayPort = relay.port;
    wire.cut();
    wire.restore();
    await pollUntil(() => hasAll(tablet, big), { timeoutMs: 60_000, intervalMs: 200, what: 'the tablet has all 400 after the relay restart' });
    const [a, b] = await Promise.all([laptop.api.statusOrThrow(), tablet.api.statusOrThrow()]);
    assert.deepEqual(a.devices, b.devices, 'same chain heads on both devices');
  });

  test('remove the tablet: it reads nothing new and nothing it writes counts', async () => {
    // Both offline: the tablet does not know yet that it is removed, and writes on.
    wire.cut();
    await chip(tablet, 'offline');
    const row = laptop.page.locator('[data-testid="device-row"]', { hasText: 'Tablet' });
    await row.getByTestId('device-remove').click();
    assert.match(await row.getByRole('alert').innerText(), /new sync key/);
    await row.getByTestId('device-remove-confirm').click();
    await laptop.page.locator('[data-testid="device-row"][data-removed="yes"]').waitFor({ timeout: UI_MS });
    await laptop.page.locator('[data-testid="sync-epoch"][data-epoch="2"]').waitFor({ timeout: UI_MS });
    await tablet.api.createWorkspace('Written by the removed tablet');
    wire.restore();

    await chip(tablet, 'problem');
    assert.match((await tablet.page.getByTestId('sync-chip').getAttribute('title')) ?? '', /removed/);
    await laptop.api.createWorkspace('After removal');
    await chip(laptop, 'up_to_date');
    await new Promise((r) => setTimeout(r, 3_000));
    assert.ok(!(await names(tablet)).includes('After removal'), 'the removed tablet reads nothing written after');
    assert.ok(!(await names(laptop)).includes('Written by the removed tablet'), 'nothing the removed tablet writes counts');
    // And it can change nothing any more.
    const refused = await tablet.api.command({ type: 'workspace.create', payload: { name: 'Again' }, idempotencyKey: 'again' });
    assert.equal(refused.ok ? 'ok' : refused.error.code, 'read_only');
  });

  test('the relay stored and sent only sealed data; no CSP violations', async () => {
    const stored: Buffer[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else stored.push(await readFile(p));
      }
    };
    await walk(dataDir);
    assert.ok(stored.reduce((n, b) => n + b.length, 0) > 10_000, 'the relay stored the sync data');
    for (const [what, bytes] of [['stored data', Buffer.concat(stored)], ['traffic from the relay', Buffer.concat(wire.fromRelay)]] as const) {
      assert.ok(bytes.length > 0, what);
      for (const needle of [MARKER, 'Offline on the laptop', 'Bulk 399', 'workspace.create']) {
        assert.equal(bytes.includes(needle), false, `${what} contains "${needle}"`);
      }
    }
    assert.deepEqual(await cspViolations(laptop.page), [], 'CSP violations on the laptop');
    assert.deepEqual(await cspViolations(tablet.page), [], 'CSP violations on the tablet');
  });
});

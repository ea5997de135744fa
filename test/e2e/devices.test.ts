/**
 * The Devices screen, in real Chromium (the built app on OPFS, with its CSP), with a second device
 * played by a kernel in Node whose chain the app ingests through its API.
 *
 * Invariants checked:
 * 1. Every device of the log is listed; this one is marked; the other shows its chain.
 * 2. Renaming this device shows the new name.
 * 3. Remove asks first, saying what removing does; confirmed, the device shows as removed, by
 *    whom; what it writes afterwards is refused by ingest (`device_revoked`).
 * 4. No CSP violations.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM_PATH } from '../helpers/chromium.ts';
import { Cleanup } from './support.ts';
import { cspViolations, openBuiltApp } from './app-support.ts';
import type { AppPage } from './pages/app-page.ts';
import { unwrap, type KingdomApiPage } from './pages/kingdom-api.ts';
import type { IngestReport, KingdomApi, Result, WireCheckpoint, WireEvent } from '../../worker/api.ts';
import { openKernel, type Kernel } from '../../worker/node/index.ts';

const UI_MS = 20_000;

type Win = Window & { kingdomDevHook: { api: KingdomApi } };
type Chain = { events: WireEvent[]; checkpoints: WireCheckpoint[] };

async function ingest(page: Page, batch: Chain): Promise<IngestReport> {
  // As JSON text: Playwright's argument types recurse too deep on Json payloads.
  const r = await page.evaluate<Result<IngestReport>, string>((json) => (window as unknown as Win).kingdomDevHook.api.ingest(JSON.parse(json) as Chain), JSON.stringify(batch));
  return unwrap(r, 'ingest');
}

describe('devices in the app', () => {
  const cleanup = new Cleanup();
  let page: Page;
  let ui: AppPage;
  let api: KingdomApiPage;
  let tablet: Kernel;

  before(async () => {
    assert.ok(chromiumAvailable(), `Chromium is missing at ${CHROMIUM_PATH} (scripts/e2e.sh installs it)`);
    ({ page, ui, api } = await openBuiltApp(cleanup, 'devices', '#/devices', UI_MS));
    // Later than the browser's clock, so its first event does not sort before the app's.
    tablet = await openKernel({ storage: 'memory', clock: () => Date.now() + 1000 });
    cleanup.add('tablet kernel', () => tablet.close());
  });
  after(() => cleanup.run());

  const row = (device: string) => page.locator(`[data-testid="device-row"][data-device="${device}"]`);

  test('lists both devices, renames this one, removes the other after asking', async () => {
    tablet.command({ type: 'workspace.create', payload: { name: 'From the tablet' }, idempotencyKey: 'tablet:ws' });
    const r = await ingest(page, tablet.exportChain(tablet.deviceId));
    assert.deepEqual(r.refused, []);
    const self = unwrap(await api.status(), 'status').deviceId;

    await row(tablet.deviceId).waitFor({ timeout: UI_MS });
    assert.match(await row(self).innerText(), /this device/);
    assert.match(await row(tablet.deviceId).innerText(), /events in its chain/);

    await row(self).getByTestId('device-rename').click();
    await row(self).getByTestId('device-name-input').fill('Laptop');
    await row(self).getByTestId('device-name-save').click();
    await row(self).getByTestId('device-name').filter({ hasText: 'Laptop' }).waitFor({ timeout: UI_MS });

    await row(tablet.deviceId).getByTestId('device-remove').click();
    const ask = row(tablet.deviceId).getByRole('alert');
    assert.match(await ask.innerText(), /keeps what it already has/);
    await row(tablet.deviceId).getByTestId('device-remove-confirm').click();
    await page.locator(`[data-testid="device-row"][data-device="${tablet.deviceId}"][data-removed="yes"]`).waitFor({ timeout: UI_MS });
    assert.match(await row(tablet.deviceId).innerText(), /Removed by Laptop/);

    // The tablet writes on, not knowing: the app refuses it.
    tablet.command({ type: 'workspace.create', payload: { name: 'After removal' }, idempotencyKey: 'tablet:ws2' });
    const later = await ingest(page, tablet.exportChain(tablet.deviceId));
    assert.equal(later.refused[0]?.reason, 'device_revoked', JSON.stringify(later.refused));
    assert.ok(!(await api.workspaceNames()).includes('After removal'));
    assert.deepEqual(await cspViolations(page), [], 'securitypolicyviolation events in the page');
    void ui;
  });
});

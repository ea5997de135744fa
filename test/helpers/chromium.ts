/**
 * Launch Debian's Chromium for tests and benchmarks (never `playwright install`: this machine
 * cannot download browsers). Each launch gets a fresh user-data-dir unless one is passed in, so a
 * test can restart "the same browser profile" to check persistence.
 */
import { chromium, type BrowserContext } from 'playwright-core';
import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export function freshProfileDir(prefix = 'kingdom-chromium-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A persistent context (real profile on disk: OPFS, IndexedDB, service workers survive restarts). */
export async function launchChromium(userDataDir: string = freshProfileDir()): Promise<{ context: BrowserContext; userDataDir: string }> {
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
  });
  return { context, userDataDir };
}

/**
 * Launch Debian's Firefox ESR (/usr/bin/firefox-esr, installed with apt by scripts/e2e.sh; never
 * `npx puppeteer browsers install`) through puppeteer-core over WebDriver BiDi. Every launch gets
 * a profile directory on disk, fresh unless one is passed in (so a test can restart "the same
 * profile" to check persistence). Not private browsing: OPFS throws SecurityError there.
 *
 * `close()` is bounded: a browser that does not quit within `closeMs` has its whole process group
 * killed (by its own pid; puppeteer starts Firefox in a group of its own). The profile directory
 * is the caller's to remove, after `close()`. Puppeteer starts Firefox detached, so a test process
 * killed by a signal (`timeout` in scripts/e2e.sh sends SIGTERM to its group) would leave it
 * running: on SIGTERM, SIGINT, SIGHUP and at exit, the browsers still open are killed here and
 * their profile directories (when `removeProfileAtExit`) removed, then the signal takes its course.
 */
import puppeteer, { type Browser } from 'puppeteer-core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIREFOX_PATH = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

export function firefoxAvailable(): boolean {
  return existsSync(FIREFOX_PATH);
}

export function freshFirefoxProfile(prefix = 'kingdom-firefox-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Preferences on top of puppeteer's own (it already turns off updates, telemetry and first-run pages). */
const PREFS: Record<string, unknown> = {
  // No traffic of its own: safe-browsing list updates, captive-portal and connectivity checks.
  'browser.safebrowsing.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
};

export interface LaunchedFirefox {
  readonly browser: Browser;
  readonly profileDir: string;
  readonly pid: number | undefined;
  /** Quit Firefox; kill its process group when it does not quit within `closeMs`. Never throws. */
  close(closeMs?: number): Promise<void>;
}

export interface LaunchOptions {
  launchMs?: number;
  protocolMs?: number;
  /** Remove the profile directory when the process exits or is signalled with this browser still open. */
  removeProfileAtExit?: boolean;
}

export async function launchFirefox(profileDir: string = freshFirefoxProfile(), opts: LaunchOptions = {}): Promise<LaunchedFirefox> {
  installExitHooks();
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir: profileDir,
    extraPrefsFirefox: PREFS,
    timeout: opts.launchMs ?? 60_000,
    protocolTimeout: opts.protocolMs ?? 60_000,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const pid = browser.process()?.pid;
  const entry = { pid, profileDir: opts.removeProfileAtExit ? profileDir : undefined };
  live.add(entry);
  let closed: Promise<void> | undefined;
  const close = (closeMs = 10_000): Promise<void> => {
    closed ??= (async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quit = browser.close().catch(() => undefined);
      await Promise.race([quit, new Promise<void>((ok) => { timer = setTimeout(ok, closeMs); })]);
      clearTimeout(timer);
      // Whatever is left of the group (a hung parent, content processes a moment behind it) goes.
      killGroup(pid);
      live.delete(entry);
    })();
    return closed;
  };
  return { browser, profileDir, pid, close };
}

/** SIGKILL the process group led by `pid` (puppeteer starts Firefox detached, in its own group). */
function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already (ESRCH)
  }
}

/** Browsers not closed yet: what the exit and signal hooks clean up. */
const live = new Set<{ pid: number | undefined; profileDir: string | undefined }>();
let hooksInstalled = false;

function killAllLive(): void {
  for (const { pid, profileDir } of live) {
    killGroup(pid);
    if (profileDir) rmSync(profileDir, { recursive: true, force: true, maxRetries: 3 });
  }
  live.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllLive);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAllLive();
      process.removeListener(signal, onSignal);
      // Nobody else handles it: die of the signal, as without this hook.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/**
 * Page object for the Kingdom UI, through its data-testids only (see the brief of src/):
 * workspace and project lists and forms, the live event log, the integrity check, and the header
 * storage chip (storage kind); the tab's role and the log head are on the Storage & status page. Every wait is bounded.
 */
import type { Locator, Page } from 'playwright-core';

const attr = (v: string) => JSON.stringify(v);

export class AppPage {
  constructor(readonly page: Page, readonly timeoutMs = 15_000) {}

  byTestId(id: string): Locator {
    return this.page.locator(`[data-testid=${attr(id)}]`);
  }

  /** The app shell rendered and the kernel answered (the header's storage chip appears after `info()`). */
  async waitReady(): Promise<void> {
    await this.byTestId('storage-kind').first().waitFor({ state: 'visible', timeout: this.timeoutMs });
  }

  /** Open the Storage & status page (role, log head), by URL: the nav may be a closed drawer. */
  async openStatus(): Promise<void> {
    if (!(await this.page.evaluate(() => location.hash.startsWith('#/storage')))) {
      await this.page.evaluate(() => { location.hash = '#/storage'; });
    }
    await this.byTestId('role-badge').first().waitFor({ timeout: this.timeoutMs });
  }

  async role(): Promise<string | null> {
    await this.openStatus();
    return this.byTestId('role-badge').first().getAttribute('data-role', { timeout: this.timeoutMs });
  }

  async waitRole(role: 'leader' | 'follower'): Promise<void> {
    await this.openStatus();
    await this.page.locator(`[data-testid="role-badge"][data-role=${attr(role)}]`).first().waitFor({ timeout: this.timeoutMs });
  }

  async storageKind(): Promise<string | null> {
    return this.byTestId('storage-kind').first().getAttribute('data-kind', { timeout: this.timeoutMs });
  }

  async headSeq(): Promise<number> {
    await this.openStatus();
    return Number(await this.byTestId('head-seq').first().textContent({ timeout: this.timeoutMs }));
  }

  workspaceItem(name: string): Locator {
    return this.page.locator(`[data-testid="workspace-item"][data-name=${attr(name)}]`);
  }

  projectItem(name: string): Locator {
    return this.page.locator(`[data-testid="project-item"][data-name=${attr(name)}]`);
  }

  eventRows(type?: string): Locator {
    return this.page.locator(type ? `[data-testid="event-row"][data-type=${attr(type)}]` : '[data-testid="event-row"]');
  }

  /** Navigate to a route through the nav bar when it has a link for it (no-op otherwise). */
  async nav(route: string): Promise<void> {
    const link = this.byTestId(`nav-${route}`);
    if ((await link.count()) > 0) await link.first().click({ timeout: this.timeoutMs });
  }

  async createWorkspace(name: string): Promise<void> {
    await this.nav('workspaces');
    await this.byTestId('workspace-name-input').first().fill(name, { timeout: this.timeoutMs });
    await this.byTestId('workspace-create').first().click({ timeout: this.timeoutMs });
    await this.workspaceItem(name).first().waitFor({ timeout: this.timeoutMs });
  }

  async waitWorkspace(name: string): Promise<void> {
    await this.nav('workspaces');
    await this.workspaceItem(name).first().waitFor({ timeout: this.timeoutMs });
  }

  async createProject(name: string): Promise<void> {
    await this.byTestId('project-name-input').first().fill(name, { timeout: this.timeoutMs });
    await this.byTestId('project-create').first().click({ timeout: this.timeoutMs });
    await this.projectItem(name).first().waitFor({ timeout: this.timeoutMs });
  }

  /** Wait for an event row of `type` whose row text mentions `text` (e.g. a workspace name). */
  async waitEventRow(type: string, text: string): Promise<void> {
    await this.nav('events');
    await this.eventRows(type).filter({ hasText: text }).first().waitFor({ timeout: this.timeoutMs });
  }

  /** Click "verify" and return the result's data-ok. */
  async verify(): Promise<boolean> {
    await this.nav('integrity');
    const result = this.byTestId('verify-result');
    await this.byTestId('verify-button').first().click({ timeout: this.timeoutMs });
    await result.first().waitFor({ timeout: this.timeoutMs });
    return (await result.first().getAttribute('data-ok')) === 'true';
  }
}

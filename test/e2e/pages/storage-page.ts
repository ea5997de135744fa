/**
 * Page object for the storage test page (contract.html): drives its OPFS workers from Node.
 */
import type { Page } from 'playwright-core';
import { DB_FILE } from '../../../worker/browser/opfs-adapter.ts';
import type { OpResult } from './contract.worker.ts';

/**
 * Prepare the origin's app database from the storage page: open DB_FILE in the app's sahpool,
 * run `sql`, close it, and return the first column of the last row. `path` is where the storage
 * page is served on that origin.
 */
export async function prepareAppDatabase(page: Page, origin: string, sql: string, path = '/contract.html'): Promise<OpResult<unknown>> {
  await page.goto(`${origin}${path}`);
  await page.waitForSelector('#status[data-ready="true"]', { timeout: 15_000 });
  return page.evaluate(async ([file, statements]) => {
    const i = window.e2e.spawn();
    const opened = await window.e2e.open(i, file as string);
    if (!opened.ok) return opened;
    const r: OpResult<unknown> = await window.e2e.exec(i, statements as string);
    await window.e2e.close(i);
    window.e2e.terminate(i);
    return r;
  }, [DB_FILE, sql]);
}

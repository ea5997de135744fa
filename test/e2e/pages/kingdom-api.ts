/**
 * Page object for `window.kingdomDevHook.api` (the Comlink-wrapped KingdomApi a Kingdom page exposes, in the
 * app and in the UI-less kernel harness alike). Everything goes through `page.evaluate`, so only
 * plain data crosses into Node. Methods return the kernel's `Result` unless named `…OrThrow`.
 */
import type { Page } from 'playwright-core';
import type { CommandInput, CommandResult, KernelStatus, KingdomApi, RebuildReport, Result, RuntimeInfo, VerifyReport, Workspace } from '../../../worker/api.ts';

/** Comlink's Remote<KingdomApi> has the same shape for these methods (they already return promises). */
type Win = Window & { kingdomDevHook: { api: KingdomApi; ready: Promise<unknown> } };

export class KingdomApiPage {
  constructor(readonly page: Page) {}

  /** Wait until `window.kingdomDevHook.ready` settled (the worker answered `info()`); bounded. */
  async ready(timeoutMs = 20_000): Promise<RuntimeInfo> {
    await this.page.waitForFunction(() => typeof (window as unknown as Win).kingdomDevHook?.ready === 'object', undefined, { timeout: timeoutMs });
    return this.page.evaluate(async (ms) => {
      const w = window as unknown as Win;
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`kingdomDevHook.ready/info() did not settle within ${ms} ms`)), ms));
      await Promise.race([w.kingdomDevHook.ready, timeout]);
      return Promise.race([w.kingdomDevHook.api.info(), timeout]);
    }, timeoutMs);
  }

  info(): Promise<RuntimeInfo> {
    return this.page.evaluate(() => (window as unknown as Win).kingdomDevHook.api.info());
  }

  command(cmd: CommandInput): Promise<Result<CommandResult>> {
    return this.page.evaluate<Result<CommandResult>, CommandInput>((c) => (window as unknown as Win).kingdomDevHook.api.command(c), cmd);
  }

  commandBatch(cmds: readonly CommandInput[]): Promise<Result<CommandResult[]>> {
    return this.page.evaluate<Result<CommandResult[]>, CommandInput[]>((c) => (window as unknown as Win).kingdomDevHook.api.commandBatch(c), [...cmds]);
  }

  query<T>(name: string, params: unknown = {}): Promise<Result<T>> {
    return this.page.evaluate<Result<T>, [string, unknown]>(([n, p]) => (window as unknown as Win).kingdomDevHook.api.query<T>(n, p), [name, params]);
  }

  verify(): Promise<Result<VerifyReport>> {
    return this.page.evaluate<Result<VerifyReport>>(() => (window as unknown as Win).kingdomDevHook.api.verify());
  }

  rebuild(): Promise<Result<RebuildReport>> {
    return this.page.evaluate<Result<RebuildReport>>(() => (window as unknown as Win).kingdomDevHook.api.rebuild());
  }

  status(): Promise<Result<KernelStatus>> {
    return this.page.evaluate<Result<KernelStatus>>(() => (window as unknown as Win).kingdomDevHook.api.status());
  }

  async createWorkspace(name: string, key = `ws:${name}`): Promise<string> {
    const r = await this.command({ type: 'workspace.create', payload: { name }, idempotencyKey: key });
    if (!r.ok) throw new Error(`workspace.create ${name}: ${r.error.code}: ${r.error.message}`);
    return String((r.value.value as { workspaceId: string }).workspaceId);
  }

  async workspaces(): Promise<Workspace[]> {
    return unwrap(await this.query<Workspace[]>('workspace.list', { includeArchived: true }), 'workspace.list');
  }

  /** Names of the workspaces created so far (the default workspace, there from the start, left out). */
  async workspaceNames(): Promise<string[]> {
    return (await this.workspaces()).filter((w) => !w.isDefault).map((w) => w.name).sort();
  }

  async statusOrThrow(): Promise<KernelStatus> {
    return unwrap(await this.status(), 'status');
  }

  async verifyOrThrow(): Promise<VerifyReport> {
    return unwrap(await this.verify(), 'verify');
  }

  async rebuildOrThrow(): Promise<RebuildReport> {
    return unwrap(await this.rebuild(), 'rebuild');
  }

  /** Events of the given types, oldest first (all of them, paged). */
  async eventsOfType(types: string[]): Promise<{ seq: number; type: string; payload: Record<string, unknown> }[]> {
    const out: { seq: number; type: string; payload: Record<string, unknown> }[] = [];
    let afterSeq = 0;
    for (let page = 0; page < 1000; page++) {
      const r = unwrap(await this.query<{ events: { seq: number; type: string; payload: Record<string, unknown> }[] }>(
        'events.list', { order: 'asc', afterSeq, limit: 1000, types }), 'events.list');
      out.push(...r.events.map((e) => ({ seq: e.seq, type: e.type, payload: e.payload })));
      if (r.events.length < 1000) break;
      afterSeq = r.events[r.events.length - 1]!.seq;
    }
    return out;
  }
}

export function unwrap<T>(r: Result<T>, what: string): T {
  if (!r.ok) throw new Error(`${what} failed: ${r.error.code}: ${r.error.message}`);
  return r.value;
}

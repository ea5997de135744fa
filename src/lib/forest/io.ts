/**
 * Markdown import and export for the Forest screens, and the one batch helper they need.
 *
 * Invariants:
 * 1. An import is planned in the page with the worker's own pure `importMarkdown` and sent as ONE
 *    commandBatch: every file lands or none does. Re-importing the same files appends nothing (the
 *    plan's idempotency keys derive from path and content).
 * 2. A batch failure lands in `kernel.lastError` under the caller's scope, like `kernel.run`.
 */
import type { CommandInput, CommandResult } from '../../../worker/api.ts';
import { exportMarkdown, importMarkdown, type ImportPlan, type MarkdownFile } from '../../../worker/domains/forest/markdown.ts';
import { kernel } from '../kernel.svelte.ts';
import { fromKernel, fromThrown } from '../ui-error.ts';
import type { NodeDetail, NodeSummary } from './types.ts';

/**
 * Send commands as one all-or-nothing batch (KernelClient has no batch helper yet, so this goes
 * through the same Comlink proxy, `window.kingdom`). `build` gets the action's idempotency key.
 */
export async function runBatch(scope: string, intent: unknown, build: (key: string) => CommandInput[]): Promise<CommandResult[] | null> {
  let out: CommandResult[] | null = null;
  await kernel.act(scope, intent, async (key) => {
    const api = window.kingdom;
    if (!api) {
      kernel.lastError = { scope, code: 'kernel_closed', message: 'The kernel is not running in this tab; reload the page.' };
      return false;
    }
    try {
      const r = await api.commandBatch(build(key));
      if (!r.ok) {
        kernel.lastError = fromKernel(scope, r.error);
        return false;
      }
      out = r.value;
      return true;
    } catch (err) {
      kernel.lastError = fromThrown(scope, err);
      return false;
    }
  });
  return out;
}

const MD = /\.(md|markdown)$/i;

/** The .md files of a file list (a folder picked with webkitdirectory keeps its relative paths). */
export async function readMarkdownFiles(list: FileList | readonly File[]): Promise<MarkdownFile[]> {
  const files = [...list].filter((f) => MD.test(f.name));
  return Promise.all(files.map(async (f) => ({ path: f.webkitRelativePath || f.name, text: await f.text() })));
}

/** Every active node's id and title (paged), so wiki links can resolve to existing nodes. */
export async function existingNodes(scope: string): Promise<{ id: string; title: string }[] | null> {
  const out: { id: string; title: string }[] = [];
  for (let offset = 0; ; offset += 500) {
    const r = await kernel.query(scope, 'forest.node.list', { limit: 500, offset });
    if (!r) return null;
    out.push(...r.nodes.map((n) => ({ id: n.id, title: n.title })));
    if (r.nodes.length < 500 || out.length >= r.total) return out;
  }
}

export interface ImportOutcome {
  readonly plan: ImportPlan;
  /** Events appended (0 when everything was already imported). */
  readonly appended: number;
}

export async function importFiles(scope: string, files: readonly MarkdownFile[]): Promise<ImportOutcome | null> {
  const existing = await existingNodes(scope);
  if (!existing) return null;
  const plan = importMarkdown(files, existing);
  if (plan.commands.length === 0) return { plan, appended: 0 };
  const results = await runBatch(scope, { import: plan.commands.map((c) => c.idempotencyKey) }, () => plan.commands);
  if (!results) return null;
  return { plan, appended: results.reduce((n, r) => n + (r.replayed ? 0 : r.events.length), 0) };
}

/** Download a node as a markdown file (front matter, body, outgoing links). */
export function downloadNode(d: NodeDetail): void {
  const file = exportMarkdown(d.node, d.outgoing);
  const url = URL.createObjectURL(new Blob([file.text], { type: 'text/markdown;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.path;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

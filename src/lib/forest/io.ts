/**
 * Markdown import and export for the Forest screens. The Markdown itself is made in the worker
 * (queries `forest.markdown.import_plan` and `forest.markdown.export`); the page only reads files
 * and downloads.
 *
 * Invariants:
 * 1. An import is planned by the worker and sent as ONE commandBatch: every file lands or none
 *    does. Re-importing the same files appends nothing (the plan's idempotency keys derive from
 *    path and content).
 * 2. A failure lands in `kernel.lastError` under the caller's scope, like `kernel.run`.
 */
import type { QueryResult, TypedCommand } from '../../../worker/api.ts';
import { kernel } from '../kernel.svelte.ts';
import { downloadBlob } from '../download.ts';

export type ImportPlan = QueryResult<'forest.markdown.import_plan'>;
export interface MarkdownFile {
  readonly path: string;
  readonly text: string;
}

const MD = /\.(md|markdown)$/i;

/** The .md files of a file list (a folder picked with webkitdirectory keeps its relative paths). */
export async function readMarkdownFiles(list: FileList | readonly File[]): Promise<MarkdownFile[]> {
  const files = [...list].filter((f) => MD.test(f.name));
  return Promise.all(files.map(async (f) => ({ path: f.webkitRelativePath || f.name, text: await f.text() })));
}

export interface ImportOutcome {
  readonly plan: ImportPlan;
  /** Events appended (0 when everything was already imported). */
  readonly appended: number;
}

export async function importFiles(scope: string, files: readonly MarkdownFile[]): Promise<ImportOutcome | null> {
  const plan = await kernel.query(scope, 'forest.markdown.import_plan', { files: [...files] });
  if (!plan) return null;
  if (plan.commands.length === 0) return { plan, appended: 0 };
  // Forest commands the forest slice planned itself (forest.node.create/update, forest.link.create).
  const results = await kernel.runBatch(scope, { import: plan.commands.map((c) => c.idempotencyKey) }, () => plan.commands as readonly TypedCommand[]);
  if (!results) return null;
  return { plan, appended: results.reduce((n, r) => n + (r.replayed ? 0 : r.events.length), 0) };
}

/** Download a node as a markdown file (front matter, body, outgoing links), made by the worker. */
export async function downloadNode(scope: string, nodeId: string): Promise<void> {
  const file = await kernel.query(scope, 'forest.markdown.export', { id: nodeId });
  if (!file) return;
  downloadBlob(file.path, new Blob([file.text], { type: 'text/markdown;charset=utf-8' }));
}

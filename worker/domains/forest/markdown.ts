/**
 * Markdown import/export for the Forest.
 *
 * Invariants:
 * 1. `importMarkdown` and `exportMarkdown` are pure. A file's node id is derived from its path
 *    (or taken from front matter `id:`), so re-importing a folder updates the same nodes; every
 *    command's idempotency key is derived from the file's path and content, so re-running the same
 *    import appends nothing.
 * 2. Title: front matter `title:`, else the first `# heading`, else the file name without `.md`.
 *    Front matter `tags:` (a list or a comma-separated string) become tags; `metadata:` (an object)
 *    becomes metadata. The body is the text after the front matter, without the links section.
 * 3. `[[Target]]` and `[[Target|alias]]` in the body become `mentions` links to the node whose
 *    title matches case-insensitively (imported files first, then `existing`); unknown targets
 *    create nothing and are reported in `unresolved`. In the exported links section
 *    (after LINKS_MARKER) each line `- <type>: [[Target]]` becomes a link of that type.
 * 4. `importMarkdownInto` runs everything as ONE commandBatch: all files land or none do.
 * The queries over these functions are markdown-queries.ts's; this file (and the YAML library)
 * loads on demand (worker/kernel/code-part.ts).
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { CommandInput } from '../../kernel/commands/envelope.ts';
import type { Kernel } from '../../kernel/kernel.ts';
import type { Json } from '../../kernel/errors.ts';
import { sha256Hex } from '../../kernel/log/hash.ts';
import { normaliseTags } from './schemas.ts';

export const LINKS_MARKER = '<!-- forest:links -->';

export interface MarkdownFile { readonly path: string; readonly text: string }
export interface ExistingNode { readonly id: string; readonly title: string }
export interface ImportPlan {
  readonly commands: CommandInput[];
  readonly nodes: { path: string; id: string; title: string; action: 'create' | 'update' }[];
  readonly unresolved: { path: string; target: string }[];
}

interface Parsed { path: string; id: string; title: string; body: string; tags: string[]; metadata: { [k: string]: Json }; links: { target: string; type: string }[]; hash: string }

const WIKI = /\[\[([^\]|\n]+)(?:\|[^\]\n]*)?\]\]/g;
const LINK_LINE = /^\s*-\s*([a-z][a-z0-9_]{0,63})\s*:\s*\[\[([^\]|\n]+)(?:\|[^\]\n]*)?\]\]\s*$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

/** A stable UUID (version 8, RFC 9562) derived from text. */
export function uuidFromText(text: string): string {
  const h = sha256Hex(text);
  const v = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${v}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function splitFrontMatter(text: string): { fm: Record<string, unknown>; rest: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { fm: {}, rest: text };
  let fm: unknown;
  try {
    fm = parseYaml(m[1]!);
  } catch {
    fm = {};
  }
  return { fm: fm && typeof fm === 'object' && !Array.isArray(fm) ? (fm as Record<string, unknown>) : {}, rest: text.slice(m[0].length) };
}

function parseFile(f: MarkdownFile): Parsed {
  const { fm, rest } = splitFrontMatter(f.text.replace(/^\uFEFF/, ''));
  const at = rest.indexOf(LINKS_MARKER);
  const body = (at === -1 ? rest : rest.slice(0, at)).replace(/\s+$/, '');
  const links: { target: string; type: string }[] = [];
  for (const m of body.matchAll(WIKI)) links.push({ target: m[1]!.trim(), type: 'mentions' });
  if (at !== -1) {
    for (const line of rest.slice(at + LINKS_MARKER.length).split('\n')) {
      const m = LINK_LINE.exec(line);
      if (m) links.push({ target: m[2]!.trim(), type: m[1]! });
    }
  }
  const heading = /^#[ \t]+(.+?)[ \t#]*$/m.exec(body)?.[1];
  const fileName = (f.path.split('/').pop() ?? f.path).replace(/\.(md|markdown)$/i, '');
  const title = (typeof fm['title'] === 'string' && fm['title'].trim()) || heading?.trim() || fileName.trim() || 'Untitled';
  const rawTags = Array.isArray(fm['tags']) ? fm['tags'].map(String) : typeof fm['tags'] === 'string' ? fm['tags'].split(',') : [];
  const meta = fm['metadata'];
  const metadata = meta && typeof meta === 'object' && !Array.isArray(meta) ? (JSON.parse(JSON.stringify(meta)) as { [k: string]: Json }) : {};
  const id = typeof fm['id'] === 'string' && UUID.test(fm['id']) ? fm['id'].toLowerCase() : uuidFromText(`forest-import:${f.path}`);
  return { path: f.path, id, title: title.slice(0, 300), body, tags: normaliseTags(rawTags), metadata, links, hash: sha256Hex(`${f.path}\0${f.text}`).slice(0, 32) };
}

/** Plan an import: one create (or update, for ids in `existing`) per file, then its links. */
export function importMarkdown(files: readonly MarkdownFile[], existing: readonly ExistingNode[] = []): ImportPlan {
  const parsed = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map(parseFile);
  const existingIds = new Set(existing.map((e) => e.id));
  const byTitle = new Map<string, string>();
  for (const e of existing) if (!byTitle.has(e.title.toLowerCase())) byTitle.set(e.title.toLowerCase(), e.id);
  for (const p of parsed) byTitle.set(p.title.toLowerCase(), p.id); // imported files win
  const commands: CommandInput[] = [];
  const nodes: ImportPlan['nodes'] = [];
  const unresolved: ImportPlan['unresolved'] = [];
  for (const p of parsed) {
    const action = existingIds.has(p.id) ? 'update' : 'create';
    nodes.push({ path: p.path, id: p.id, title: p.title, action });
    commands.push({
      type: action === 'create' ? 'forest.node.create' : 'forest.node.update',
      payload: { nodeId: p.id, title: p.title, body: p.body, tags: p.tags, metadata: p.metadata },
      idempotencyKey: `forest-import:${p.hash}:${action}`,
    });
  }
  for (const p of parsed) {
    const seen = new Set<string>();
    for (const l of p.links) {
      const to = byTitle.get(l.target.toLowerCase());
      if (!to) {
        if (!unresolved.some((u) => u.path === p.path && u.target === l.target)) unresolved.push({ path: p.path, target: l.target });
        continue;
      }
      const key = `${to} ${l.type}`;
      if (to === p.id || seen.has(key)) continue;
      seen.add(key);
      commands.push({
        type: 'forest.link.create',
        payload: { from: p.id, to, type: l.type },
        idempotencyKey: `forest-import:${p.hash}:link:${sha256Hex(key).slice(0, 24)}`,
      });
    }
  }
  return { commands, nodes, unresolved };
}

/** Run an import through a kernel as one all-or-nothing commandBatch. */
export function importMarkdownInto(kernel: Kernel, files: readonly MarkdownFile[], actor?: string): ImportPlan & { appended: number } {
  const plan = kernel.query('forest.markdown.import_plan', { files }) as ImportPlan;
  const commands = actor ? plan.commands.map((c) => ({ ...c, actor })) : plan.commands;
  const results = kernel.commandBatch(commands);
  return { ...plan, appended: results.reduce((n, r) => n + (r.replayed ? 0 : r.events.length), 0) };
}

export interface ExportNode {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
  readonly metadata?: { readonly [k: string]: Json };
}

/** A file name from a title: lower-case words joined by '-', at most 80 characters. */
export function slugify(title: string): string {
  const s = title.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 80);
  return s || 'untitled';
}

/** Markdown for one node: front matter (id, title, tags, metadata), body, then its outgoing links. */
export function exportMarkdown(node: ExportNode, links: readonly { type: string; other: { title: string } }[]): MarkdownFile {
  const fm: Record<string, unknown> = { id: node.id, title: node.title, tags: [...node.tags] };
  if (node.metadata && Object.keys(node.metadata).length > 0) fm['metadata'] = node.metadata;
  let text = `---\n${stringifyYaml(fm).trimEnd()}\n---\n${node.body}\n`;
  if (links.length > 0) text += `\n${LINKS_MARKER}\n${links.map((l) => `- ${l.type}: [[${l.other.title}]]`).join('\n')}\n`;
  return { path: `${slugify(node.title)}.md`, text };
}

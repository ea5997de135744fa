/**
 * The Forest's Markdown import and export as queries (the functions are markdown.ts's). markdown.ts
 * and its YAML library load on demand (worker/kernel/code-part.ts): both queries name them in
 * `needs`, so the kernel worker's first chunk carries neither.
 */
import { z } from 'zod';
import { defineQueries, type Reader } from '../../kernel/module.ts';
import { CodePart } from '../../kernel/code-part.ts';
import { linksOf, toNode } from './queries.ts';
import type { ExistingNode, ImportPlan, MarkdownFile } from './markdown.ts';

export const markdownCode = new CodePart('Forest Markdown converter', () => import('./markdown.ts'));

/** Every active node's id and title (wiki links resolve against them). */
function existingNodes(r: Reader): ExistingNode[] {
  return r.all("SELECT id, title FROM forest_nodes WHERE status = 'active' ORDER BY rid").map((x) => ({ id: String(x['id']), title: String(x['title']) }));
}

// Texts are limited by the node schemas when the planned commands run; this only bounds the request.
const markdownFile = z.strictObject({ path: z.string().min(1).max(1000), text: z.string().max(4 * 1024 * 1024) });

/**
 * Markdown as queries, so the UI (or any API client) imports and exports without running worker
 * code in the page: plan an import (then send `plan.commands` as ONE commandBatch), export a node.
 */
export const markdownQueries = defineQueries([
  {
    name: 'forest.markdown.import_plan',
    description: 'Plan a Markdown import: the commands (send them as one commandBatch), the nodes they create or update, and the wiki links that resolve to nothing. Appends nothing.',
    schema: z.strictObject({ files: z.array(markdownFile).max(5000) }),
    needs: [markdownCode],
    run: (r, p: { files: MarkdownFile[] }): ImportPlan => markdownCode.get().importMarkdown(p.files, existingNodes(r)),
  },
  {
    name: 'forest.markdown.export',
    description: 'One node as a Markdown file (front matter, body, outgoing links), or null.',
    schema: z.strictObject({ id: z.string().min(1).max(200) }),
    needs: [markdownCode],
    run: (r, p: { id: string }): MarkdownFile | null => {
      const row = r.get('SELECT n.id, n.title, n.tags, n.metadata, n.status, n.created_by, n.updated_by, n.session_id, n.created_at, n.updated_at, n.version, n.body FROM forest_nodes n WHERE n.id = ?', [p.id]);
      if (!row) return null;
      const node = toNode(row);
      return markdownCode.get().exportMarkdown(node, node.status === 'active' ? linksOf(r, p.id, 'out') : []);
    },
  },
]);

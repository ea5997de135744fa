/**
 * The Forest: a knowledge graph of markdown nodes and typed links, with FTS5 search.
 * See docs/forest.md.
 */
import type { KernelModule } from '../../kernel/module.ts';
import * as s from './schemas.ts';
import { commands } from './commands.ts';
import { forestLinksProjection, forestNodesProjection } from './projection.ts';
import { queries } from './queries.ts';
import { toDefaultWorkspace } from '../workspaces/scope.ts';
import { markdownQueries } from './markdown-queries.ts';
import { forestMentionsProjection } from './mentions.ts';
import { forestBodyTagsProjection } from './tags.ts';
import { graphQueries } from './graph.ts';

export type { ForestNode, ForestLink, NodeSummary, TraverseResult } from './queries.ts';
export type { SearchHit, SearchResult } from './search.ts';
export { compileQuery, snippetParts, SNIPPET_OPEN, SNIPPET_CLOSE } from './search.ts';

export const forestModule = {
  name: 'forest',
  commands,
  queries: [...queries, ...markdownQueries, ...graphQueries] as const,
  projections: [forestNodesProjection, forestLinksProjection, forestMentionsProjection, forestBodyTagsProjection],
  events: [
    // v2: workspaceId (v1 nodes are lifted into the default workspace); a node's other events and
    // its links belong to the node's workspace.
    { type: 'forest.node_created', version: 2, scope: 'workspace', description: 'A knowledge node was created in a workspace.', schema: s.nodeCreated, upcasters: [toDefaultWorkspace] },
    { type: 'forest.node_updated', version: 1, scope: 'workspace', concurrent: "Field by field, the later update in merge order wins; an update merged after the delete changes nothing.", description: 'Some fields of a node changed (only the changed ones are in the payload).', schema: s.nodeUpdated },
    { type: 'forest.node_deleted', version: 1, scope: 'workspace', concurrent: "Delete beats update: the node stays archived.", description: 'A node was archived (soft delete).', schema: s.nodeDeleted },
    { type: 'forest.link_created', version: 1, scope: 'workspace', concurrent: "The same link twice is one link; the later of a create and a delete decides whether it exists.", description: 'A typed link between two nodes was created.', schema: s.linkCreated },
    { type: 'forest.link_deleted', version: 1, scope: 'workspace', concurrent: "The later in merge order of a create and a delete decides whether the link exists.", description: 'A link was removed.', schema: s.linkDeleted },
  ],
} satisfies KernelModule;

/**
 * Shapes of the Forest queries as the UI reads them (type-only re-exports of the worker's).
 */
export type { ForestNode, ForestLink, NodeSummary, TraverseResult } from '../../../worker/domains/forest/queries.ts';
export type { SearchHit, SearchResult } from '../../../worker/domains/forest/search.ts';

import type { QueryResult } from '../../../worker/api.ts';

/** A node with its links, as `forest.node.get` answers it. */
export type NodeDetail = NonNullable<QueryResult<'forest.node.get'>>;

export type TagCount = QueryResult<'forest.tags'>[number];

/** What the node form edits. */
export interface NodeDraft {
  title: string;
  body: string;
  /** Comma-separated, as typed. */
  tags: string;
}

/** A note's tags as a person sees them: the ones set, then the #tags typed in its body, each once. */
export function allTags(n: { readonly tags: readonly string[]; readonly bodyTags: readonly string[] }): string[] {
  return [...new Set([...n.tags, ...n.bodyTags])];
}

export function tagList(text: string): string[] {
  return text.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
}

/**
 * Sessions that touched a node: its own sessionId, `metadata.sessionId`, and the sessions that
 * created its links (either direction). Unique, in that order.
 */
export function sessionsOf(d: NodeDetail): string[] {
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.length > 0 && !out.includes(v)) out.push(v);
  };
  add(d.node.sessionId);
  add(d.node.metadata['sessionId']);
  for (const l of [...d.outgoing, ...d.incoming]) add(l.sessionId);
  return out;
}

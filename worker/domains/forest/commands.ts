/**
 * Commands of the Forest. Each `decide` is pure: state from `load`, time/ids/actor from ctx.
 *
 * Invariants:
 * 1. Every event of a node — and every link whose `from` is that node — goes to `forest:node:<id>`,
 *    so `expectedVersion` on a node command guards against concurrent edits of the node and of its
 *    outgoing links.
 * 2. Archived (deleted) nodes refuse every change with `archived`; unknown ids give `not_found`.
 * 3. `forest.link.create` is idempotent: a link (from, to, type) that already exists appends
 *    nothing and answers `{ created: false }` (its metadata is left as it was).
 * 4. Commands that change nothing (an update with identical fields) append nothing.
 * 5. A node belongs to one workspace (set at creation, never changed); a link joins two nodes of
 *    the same workspace (`invalid_payload` otherwise), so no read crosses workspaces.
 */
import { defineCommands, type Decision, type Reader } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import * as s from './schemas.ts';
import { assertActiveWorkspace, assertProjectIn, projectRef, workspaceStatus, type ProjectRef, type WorkspaceStatus } from '../workspaces/scope.ts';

export const nodeStream = (nodeId: string) => `forest:node:${nodeId}`;

export interface NodeState {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly tags: string[];
  readonly metadata: { [k: string]: Json };
  readonly status: 'active' | 'archived';
}

export function nodeState(r: Reader, nodeId: string): NodeState | undefined {
  const row = r.get('SELECT id, title, body, tags, metadata, status FROM forest_nodes WHERE id = ?', [nodeId]);
  if (!row) return undefined;
  const tags = String(row['tags']);
  return {
    id: String(row['id']), title: String(row['title']), body: String(row['body']),
    tags: tags ? tags.split(' ') : [], metadata: JSON.parse(String(row['metadata'])) as { [k: string]: Json },
    status: row['status'] === 'archived' ? 'archived' : 'active',
  };
}

function nodeStatus(r: Reader, nodeId: string): 'active' | 'archived' | undefined {
  const v = r.value('SELECT status FROM forest_nodes WHERE id = ?', [nodeId]);
  return v === 'active' || v === 'archived' ? v : undefined;
}

function nodeWorkspace(r: Reader, nodeId: string): string | undefined {
  const v = r.value('SELECT workspace_id FROM forest_nodes WHERE id = ?', [nodeId]);
  return typeof v === 'string' ? v : undefined;
}

const session = (p: { sessionId?: string | undefined }): string | null => p.sessionId ?? null;

export const commands = defineCommands([
  {
    type: 'forest.node.create',
    concurrent: "Two creates are two nodes (each has its own id).",
    description: 'Create a knowledge node in a workspace, optionally filed under one of its projects (title 1–300 chars, markdown body ≤ 1 MiB, tags normalised to lower-case, metadata JSON object). Answers { nodeId }.',
    schema: s.nodeCreate,
    mutates: true,
    target: (p: s.NodeCreate) => (p.nodeId ? nodeStream(p.nodeId) : null),
    load: (r, p: s.NodeCreate) => ({
      existing: p.nodeId ? nodeStatus(r, p.nodeId) : undefined,
      workspace: workspaceStatus(r, p.workspaceId),
      project: p.projectId ? projectRef(r, p.projectId) : undefined,
    }),
    decide: ({ existing, workspace, project }: { existing?: string; workspace: WorkspaceStatus; project?: ProjectRef }, p: s.NodeCreate, ctx): Decision => {
      assertActiveWorkspace(workspace, p.workspaceId);
      if (p.projectId) assertProjectIn(project, p.projectId, p.workspaceId);
      if (existing) {
        throw new KernelError('already_exists', `payload.nodeId: a node with id ${p.nodeId} already exists; omit nodeId to get a new one.`, { field: 'payload.nodeId', id: p.nodeId! });
      }
      const nodeId = p.nodeId ?? ctx.newId();
      const payload = { nodeId, workspaceId: p.workspaceId, ...(p.projectId ? { projectId: p.projectId } : {}), title: p.title, body: p.body ?? '', tags: s.normaliseTags(p.tags), metadata: p.metadata ?? {}, sessionId: session(p) };
      return { events: [{ stream: nodeStream(nodeId), type: 'forest.node_created', payload }], value: { nodeId } };
    },
  },
  {
    type: 'forest.node.update',
    concurrent: "Two updates: field by field, the later in merge order wins; fields one of them left out keep the other's. Delete beats update: an update merged after the delete changes nothing.",
    description: 'Change some of a node\'s title, body, tags (replaced as a whole) and metadata (replaced as a whole). Unchanged fields append nothing. Answers { nodeId, changed }.',
    schema: s.nodeUpdate,
    mutates: true,
    target: (p: s.NodeUpdate) => nodeStream(p.nodeId),
    load: (r, p: s.NodeUpdate) => nodeState(r, p.nodeId),
    decide: (n: NodeState | undefined, p: s.NodeUpdate): Decision => {
      const node = activeNode(n, p.nodeId, 'payload.nodeId');
      const changes: { [k: string]: Json } = {};
      if (p.title !== undefined && p.title !== node.title) changes['title'] = p.title;
      if (p.body !== undefined && p.body !== node.body) changes['body'] = p.body;
      if (p.tags !== undefined) {
        const tags = s.normaliseTags(p.tags);
        if (tags.join(' ') !== node.tags.join(' ')) changes['tags'] = tags;
      }
      if (p.metadata !== undefined && JSON.stringify(p.metadata) !== JSON.stringify(node.metadata)) changes['metadata'] = p.metadata;
      if (Object.keys(changes).length === 0) return { events: [], value: { nodeId: node.id, changed: false } };
      return {
        events: [{ stream: nodeStream(node.id), type: 'forest.node_updated', payload: { nodeId: node.id, ...changes, sessionId: session(p) } }],
        value: { nodeId: node.id, changed: true },
      };
    },
  },
  {
    type: 'forest.node.delete',
    concurrent: "Delete beats update; two deletes are one.",
    description: 'Archive a node (soft delete): it leaves search, lists and traversals, and links to or from it are hidden.',
    schema: s.nodeRef,
    mutates: true,
    target: (p: s.NodeRef) => nodeStream(p.nodeId),
    load: (r, p: s.NodeRef) => nodeStatus(r, p.nodeId),
    decide: (status: 'active' | 'archived' | undefined, p: s.NodeRef): Decision => {
      activeStatus(status, p.nodeId, 'payload.nodeId');
      return { events: [{ stream: nodeStream(p.nodeId), type: 'forest.node_deleted', payload: { nodeId: p.nodeId, sessionId: session(p) } }], value: { nodeId: p.nodeId } };
    },
  },
  {
    type: 'forest.link.create',
    concurrent: "The same link created twice is one link (the first in merge order names its creator). The later in merge order of a create and a delete decides whether it exists.",
    description: 'Link two active nodes of the same workspace with a typed edge (relates_to, derived_from, mentions, read_by, wrote, …). Idempotent: an existing (from, to, type) appends nothing and answers created: false.',
    schema: s.linkCreate,
    mutates: true,
    target: (p: s.LinkCreate) => nodeStream(p.from),
    load: (r, p: s.LinkCreate) => ({
      from: nodeStatus(r, p.from),
      to: nodeStatus(r, p.to),
      sameWorkspace: nodeWorkspace(r, p.from) === nodeWorkspace(r, p.to),
      exists: r.value('SELECT 1 FROM forest_links WHERE from_id = ? AND to_id = ? AND type = ?', [p.from, p.to, p.type]) != null,
    }),
    decide: (st: { from?: 'active' | 'archived'; to?: 'active' | 'archived'; sameWorkspace: boolean; exists: boolean }, p: s.LinkCreate): Decision => {
      if (p.from === p.to) throw new KernelError('invalid_payload', 'payload.to: a node cannot link to itself; pick another target.', { field: 'payload.to', id: p.to });
      activeStatus(st.from, p.from, 'payload.from');
      activeStatus(st.to, p.to, 'payload.to');
      if (!st.sameWorkspace) throw new KernelError('invalid_payload', `payload.to: node ${p.to} is in another workspace than ${p.from}; links stay inside one workspace.`, { field: 'payload.to', id: p.to });
      const value = { from: p.from, to: p.to, type: p.type };
      if (st.exists) return { events: [], value: { ...value, created: false } };
      return {
        events: [{ stream: nodeStream(p.from), type: 'forest.link_created', payload: { ...value, metadata: p.metadata ?? {}, sessionId: session(p) } }],
        value: { ...value, created: true },
      };
    },
  },
  {
    type: 'forest.link.delete',
    concurrent: "The later in merge order of a create and a delete decides whether the link exists.",
    description: 'Remove the link (from, to, type); not_found when there is none.',
    schema: s.linkRef,
    mutates: true,
    target: (p: s.LinkRef) => nodeStream(p.from),
    load: (r, p: s.LinkRef) => r.value('SELECT 1 FROM forest_links WHERE from_id = ? AND to_id = ? AND type = ?', [p.from, p.to, p.type]) != null,
    decide: (exists: boolean, p: s.LinkRef): Decision => {
      if (!exists) {
        throw new KernelError('not_found', `payload: there is no ${p.type} link from ${p.from} to ${p.to}; list them with forest.links.`, { field: 'payload', from: p.from, to: p.to, type: p.type });
      }
      return {
        events: [{ stream: nodeStream(p.from), type: 'forest.link_deleted', payload: { from: p.from, to: p.to, type: p.type, sessionId: session(p) } }],
        value: { from: p.from, to: p.to, type: p.type },
      };
    },
  },
]);

function activeStatus(status: 'active' | 'archived' | undefined, nodeId: string, field: string): void {
  if (!status) throw new KernelError('not_found', `${field}: no node ${nodeId}; search or list nodes to pick an existing id.`, { field, id: nodeId });
  if (status === 'archived') throw new KernelError('archived', `${field}: node ${nodeId} is deleted (archived) and cannot be changed or linked.`, { field, id: nodeId });
}

function activeNode(n: NodeState | undefined, nodeId: string, field: string): NodeState {
  activeStatus(n?.status, nodeId, field);
  return n!;
}

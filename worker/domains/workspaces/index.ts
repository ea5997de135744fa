/**
 * The workspace slice: workspaces and the projects inside them.
 */
import type { KernelModule } from '../../kernel/module.ts';
import * as s from './schemas.ts';
import { commands } from './commands.ts';
import { copiesProjection, projectsProjection, workspacesProjection } from './projection.ts';
import { queries } from './queries.ts';

export type { Workspace, Project, WorkspaceCopy } from './queries.ts';
export { DEFAULT_WORKSPACE_ID, DEFAULT_WORKSPACE_NAME } from './scope.ts';

export const workspacesModule = {
  name: 'workspaces',
  commands,
  queries,
  projections: [workspacesProjection, projectsProjection, copiesProjection],
  events: [
    { type: 'workspace.created', version: 1, scope: 'workspace', description: 'A workspace was created.', schema: s.workspaceCreated },
    { type: 'workspace.renamed', version: 1, scope: 'workspace', concurrent: "Two renames: the later in merge order wins on every device. An archived workspace stays archived.", description: 'A workspace was renamed.', schema: s.workspaceRenamed },
    // Legacy (v1 logs): the open workspace is now per-device client state; nothing appends this.
    { type: 'workspace.opened', version: 1, scope: 'workspace', description: 'Legacy: a workspace was opened. Nothing appends it any more (the open workspace is per-device client state); kept so old logs read.', schema: s.workspaceOpened },
    { type: 'workspace.archived', version: 1, scope: 'workspace', concurrent: "Archived on every device, whatever was written concurrently.", description: 'A workspace was archived.', schema: s.workspaceArchived },
    { type: 'project.created', version: 1, scope: 'workspace', description: 'A project was created in a workspace.', schema: s.projectCreated },
    { type: 'project.renamed', version: 1, scope: 'workspace', concurrent: "Two renames: the later in merge order wins. An archived project stays archived.", description: 'A project was renamed.', schema: s.projectRenamed },
    { type: 'project.archived', version: 1, scope: 'workspace', concurrent: "Archived on every device, whatever was written concurrently.", description: 'A project was archived.', schema: s.projectArchived },
  ],
} satisfies KernelModule;

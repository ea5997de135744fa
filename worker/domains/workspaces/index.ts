/**
 * The workspace slice: workspaces and the projects inside them.
 */
import type { KernelModule } from '../../kernel/module.ts';
import * as s from './schemas.ts';
import { commands } from './commands.ts';
import { projectsProjection, workspacesProjection } from './projection.ts';
import { queries } from './queries.ts';

export type { Workspace, Project } from './queries.ts';

export const workspacesModule = {
  name: 'workspaces',
  commands,
  queries,
  projections: [workspacesProjection, projectsProjection],
  events: [
    { type: 'workspace.created', version: 1, description: 'A workspace was created.', schema: s.workspaceCreated },
    { type: 'workspace.renamed', version: 1, description: 'A workspace was renamed.', schema: s.workspaceRenamed },
    { type: 'workspace.opened', version: 1, description: 'A workspace was opened (became current).', schema: s.workspaceOpened },
    { type: 'workspace.archived', version: 1, description: 'A workspace was archived.', schema: s.workspaceArchived },
    { type: 'project.created', version: 1, description: 'A project was created in a workspace.', schema: s.projectCreated },
    { type: 'project.renamed', version: 1, description: 'A project was renamed.', schema: s.projectRenamed },
    { type: 'project.archived', version: 1, description: 'A project was archived.', schema: s.projectArchived },
  ],
} satisfies KernelModule;

/**
 * Commands of the workspace slice. Each `decide` is pure: state from `load`, time/ids from ctx.
 */
import { defineCommands, NO_QUERY_CONTEXT, type CommandDefinition, type Decision, type QueryDefinition } from '../../kernel/module.ts';
import { KernelError, type Json } from '../../kernel/errors.ts';
import * as s from './schemas.ts';
import { DEFAULT_WORKSPACE_ID, importedCopy } from './scope.ts';
import { findActiveProjectByName, findActiveWorkspaceByName, getProject, queries, workspaceState, type Project, type Workspace } from './queries.ts';

const ws = (workspaceId: string) => `workspace:${workspaceId}`;
const pr = (projectId: string) => `project:${projectId}`;

const writes = defineCommands([
  {
    type: 'workspace.create',
    concurrent: "Two creates with the same name both exist (each has its own id); rename one.",
    description: 'Create a workspace (names are unique among active workspaces, case-insensitively).',
    schema: s.workspaceCreate,
    mutates: true,
    target: (p: s.WorkspaceCreate) => (p.workspaceId ? ws(p.workspaceId) : null),
    load: (r, p: s.WorkspaceCreate) => ({
      existing: p.workspaceId ? workspaceState(r, p.workspaceId) : undefined,
      sameName: findActiveWorkspaceByName(r, p.name),
    }),
    decide: (st: { existing?: Workspace; sameName?: string }, p: s.WorkspaceCreate, ctx): Decision => {
      if (st.existing) throw exists('workspace', 'workspaceId', p.workspaceId!);
      if (st.sameName) throw nameTaken('workspace', p.name, st.sameName);
      const workspaceId = p.workspaceId ?? ctx.newId();
      return {
        events: [{ stream: ws(workspaceId), type: 'workspace.created', payload: { workspaceId, name: p.name, description: p.description ?? '' } }],
        value: { workspaceId },
      };
    },
  },
  {
    type: 'workspace.rename',
    concurrent: "Two renames: the later in merge order wins on every device. Archive beats rename: an archived workspace stays archived (its name is the later one).",
    description: 'Rename a workspace.',
    schema: s.workspaceRename,
    mutates: true,
    target: (p: s.WorkspaceRename) => ws(p.workspaceId),
    load: (r, p: s.WorkspaceRename) => ({ w: workspaceState(r, p.workspaceId), sameName: findActiveWorkspaceByName(r, p.name) }),
    decide: (st: { w?: Workspace; sameName?: string }, p: s.WorkspaceRename): Decision => {
      const w = activeWorkspace(st.w, p.workspaceId);
      if (st.sameName && st.sameName !== w.id) throw nameTaken('workspace', p.name, st.sameName);
      if (w.name === p.name) return { events: [], value: { workspaceId: w.id } };
      return {
        events: [{ stream: ws(w.id), type: 'workspace.renamed', payload: { workspaceId: w.id, name: p.name, previousName: w.name } }],
        value: { workspaceId: w.id },
      };
    },
  },
  {
    type: 'workspace.archive',
    concurrent: "Archived on every device, whatever was written concurrently; two archives are one.",
    description: 'Archive a workspace (privileged: audited). Its projects stay readable. The default workspace cannot be archived.',
    schema: s.workspaceRef,
    mutates: true,
    audit: 'workspace.archived',
    target: (p: s.WorkspaceRef) => ws(p.workspaceId),
    load: (r, p: s.WorkspaceRef) => workspaceState(r, p.workspaceId),
    decide: (w: Workspace | undefined, p: s.WorkspaceRef): Decision => {
      const a = activeWorkspace(w, p.workspaceId);
      if (a.id === DEFAULT_WORKSPACE_ID) throw new KernelError('invalid_state', 'payload.workspaceId: the default workspace cannot be archived (it is where every device starts).', { field: 'payload.workspaceId', workspaceId: a.id });
      return { events: [{ stream: ws(a.id), type: 'workspace.archived', payload: { workspaceId: a.id } }], value: { workspaceId: a.id } };
    },
  },
  {
    type: 'project.create',
    concurrent: "Two creates with the same name both exist (each has its own id).",
    description: 'Create a project in an active workspace (names unique within the workspace).',
    schema: s.projectCreate,
    mutates: true,
    target: (p: s.ProjectCreate) => (p.projectId ? pr(p.projectId) : null),
    load: (r, p: s.ProjectCreate) => ({
      w: workspaceState(r, p.workspaceId),
      existing: p.projectId ? getProject(r, p.projectId) : undefined,
      sameName: findActiveProjectByName(r, p.workspaceId, p.name),
    }),
    decide: (st: { w?: Workspace; existing?: Project; sameName?: string }, p: s.ProjectCreate, ctx): Decision => {
      activeWorkspace(st.w, p.workspaceId);
      if (st.existing) throw exists('project', 'projectId', p.projectId!);
      if (st.sameName) throw nameTaken('project', p.name, st.sameName);
      const projectId = p.projectId ?? ctx.newId();
      return {
        events: [{ stream: pr(projectId), type: 'project.created', payload: { projectId, workspaceId: p.workspaceId, name: p.name, description: p.description ?? '' } }],
        value: { projectId },
      };
    },
  },
  {
    type: 'project.rename',
    concurrent: "Two renames: the later in merge order wins. Archive beats rename.",
    description: 'Rename a project.',
    schema: s.projectRename,
    mutates: true,
    target: (p: s.ProjectRename) => pr(p.projectId),
    load: (r, p: s.ProjectRename) => {
      const project = getProject(r, p.projectId);
      return { project, sameName: project ? findActiveProjectByName(r, project.workspaceId, p.name) : undefined };
    },
    decide: (st: { project?: Project; sameName?: string }, p: s.ProjectRename): Decision => {
      const project = activeProject(st.project, p.projectId);
      if (st.sameName && st.sameName !== project.id) throw nameTaken('project', p.name, st.sameName);
      if (project.name === p.name) return { events: [], value: { projectId: project.id } };
      return {
        events: [{ stream: pr(project.id), type: 'project.renamed', payload: { projectId: project.id, name: p.name, previousName: project.name } }],
        value: { projectId: project.id },
      };
    },
  },
  {
    type: 'project.archive',
    concurrent: "Archived on every device; two archives are one.",
    description: 'Archive a project (privileged: audited).',
    schema: s.projectRef,
    mutates: true,
    audit: 'project.archived',
    target: (p: s.ProjectRef) => pr(p.projectId),
    load: (r, p: s.ProjectRef) => getProject(r, p.projectId),
    decide: (project: Project | undefined, p: s.ProjectRef): Decision => {
      const a = activeProject(project, p.projectId);
      return {
        events: [{ stream: pr(a.id), type: 'project.archived', payload: { projectId: a.id, workspaceId: a.workspaceId } }],
        value: { projectId: a.id },
      };
    },
  },
]);

/**
 * The PRD names `workspace.list` and `project.list` as commands: they are reads, so they append
 * nothing and need no idempotency key, and answer exactly what the queries of the same name do.
 */
const reads = (['workspace.list', 'project.list'] as const).map((name) => {
  const q: QueryDefinition = queries.find((x) => x.name === name)!;
  return {
    type: name,
    description: `Read-only: the same answer as query \`${name}\`; appends nothing.`,
    schema: q.schema,
    mutates: false,
    load: (r, p: unknown) => q.run(r, p, NO_QUERY_CONTEXT),
    decide: (list: unknown) => ({ events: [], value: list as Json }),
  } satisfies CommandDefinition;
});

export const commands = [...writes, ...reads] as const;

function activeWorkspace(w: Workspace | undefined, workspaceId: string): Workspace {
  if (!w) throw new KernelError('not_found', `payload.workspaceId: no workspace ${workspaceId}; list workspaces to pick an existing id.`, { field: 'payload.workspaceId', workspaceId });
  if (w.status === 'archived') throw new KernelError('archived', `payload.workspaceId: workspace "${w.name}" is archived and cannot be changed.`, { field: 'payload.workspaceId', workspaceId });
  if (w.imported) throw importedCopy(w.name, workspaceId);
  return w;
}

function activeProject(p: Project | undefined, projectId: string): Project {
  if (!p) throw new KernelError('not_found', `payload.projectId: no project ${projectId}; list projects to pick an existing id.`, { field: 'payload.projectId', projectId });
  if (p.status === 'archived') throw new KernelError('archived', `payload.projectId: project "${p.name}" is archived and cannot be changed.`, { field: 'payload.projectId', projectId });
  return p;
}

function exists(kind: string, field: string, value: string): KernelError {
  return new KernelError('already_exists', `payload.${field}: a ${kind} with id ${value} already exists; omit the id to get a new one.`, { field: `payload.${field}`, id: value });
}

function nameTaken(kind: string, name: string, existingId: string): KernelError {
  return new KernelError('already_exists', `payload.name: an active ${kind} is already named "${name}"; choose another name.`, { field: 'payload.name', name, existingId });
}

/**
 * Workspace policies (kernel layer 4): per workspace, allow and deny lists of the hosts an http
 * call may reach and of the runners a step may use (rules.ts says what the patterns mean). The
 * engine enforces them at run time (worker/engine/policy-guard.ts) and records every refused call
 * with `policy.violation.record`. docs/policies.md.
 *
 * Invariants:
 * 1. `policy.set` replaces a workspace's whole policy (four lists) and is audited; a payload with
 *    any bad or repeated pattern is refused (`invalid_payload`, one issue per pattern, at its path)
 *    and changes nothing.
 * 2. A workspace without a `policy.set` has the open policy (everything allowed): `policy.get`
 *    answers it with `updatedAt: null`.
 * 3. A violation is an event of its own (`policy.violated`, audited as `policy.violation`) holding
 *    what was refused (host or runner), the rule and the list that refused it, and the session
 *    step; never the whole URL (it may carry rendered secrets), only its host.
 */
import { z } from 'zod';
import { defineCommands, defineQueries, type KernelModule } from '../../kernel/module.ts';
import { assertActiveWorkspace, workspaceField, workspaceIdSchema, workspaceStatus, type WorkspaceStatus } from '../workspaces/scope.ts';
import { checkHost, hostPatternProblem, checkRunner, deniedSentence, displayHost, listProblems, MAX_PATTERNS, MAX_PATTERN_CHARS, OPEN_POLICY, type PatternKind, type Policy } from './rules.ts';

export * from './rules.ts';

const patternList = (kind: PatternKind) => z.array(z.string().max(MAX_PATTERN_CHARS)).max(MAX_PATTERNS).superRefine((list, ctx) => {
  for (const p of listProblems(kind, list)) {
    // The problem first: the app words it per field (src/lib/words/fields.ts keeps what precedes "; remove").
    ctx.addIssue({ code: 'custom', path: [p.index], message: `${p.problem}; remove or correct the ${kind} pattern ${JSON.stringify(p.pattern)}` });
  }
});
const lists = (kind: PatternKind) => z.strictObject({ allow: patternList(kind), deny: patternList(kind) });
const policyFields = { hosts: lists('host'), runners: lists('runner') };

const setSchema = z.strictObject({ workspaceId: workspaceField, ...policyFields });
const setEvent = z.strictObject({ workspaceId: workspaceIdSchema, ...policyFields });
type PolicySet = z.infer<typeof setSchema>;

const violationFields = {
  workspaceId: workspaceIdSchema,
  /** What was refused: a host (`host[:port]` as the URL named it) or a runner name. */
  kind: z.enum(['host', 'runner']),
  target: z.string().min(1).max(300),
  /** The runner the call went to (for a host: the http runner, or the runner an agent's tool used). */
  runner: z.string().min(1).max(100),
  /** `deny`: `rule` is the deny pattern that matched; `allow`: the call is not in a non-empty allow list (rule null). */
  list: z.enum(['deny', 'allow']),
  rule: z.string().max(MAX_PATTERN_CHARS).nullable(),
  sessionId: z.string().min(1).max(100),
  stepKey: z.string().min(1).max(300),
  attempt: z.number().int().min(1),
  /** The sentence the call failed with. */
  message: z.string().min(1).max(1000),
};
const violationSchema = z.strictObject(violationFields);
type Violation = z.infer<typeof violationSchema>;

/** One recorded violation, newest first in `policy.violations`. */
export interface ViolationRow extends Omit<Violation, 'workspaceId'> {
  readonly id: string;
  readonly at: string;
  readonly actor: string;
}

/** A workspace's policy as `policy.get` answers it. */
export interface PolicyView extends Policy {
  readonly workspaceId: string;
  /** When it was last set (null: never, the open policy). */
  readonly updatedAt: string | null;
}

/** One problem of a draft policy (`policy.validate`): which list, which entry, what is wrong. */
export interface PolicyProblem {
  readonly list: 'hosts.allow' | 'hosts.deny' | 'runners.allow' | 'runners.deny';
  readonly index: number;
  readonly pattern: string;
  readonly problem: string;
}

const draftList = z.array(z.string().max(2000)).max(1000);
const draftLists = z.strictObject({ allow: draftList, deny: draftList });

const policyStream = (workspaceId: string): string => `policy:${workspaceId}`;
const violationStream = (workspaceId: string): string => `policy-violation:${workspaceId}`;

export const policiesModule = {
  name: 'policies',
  commands: defineCommands([
    {
      type: 'policy.set',
      concurrent: "Two sets of one workspace's policy: the later in merge order wins as a whole (all four lists).",
      description: "Replace a workspace's policy: allow and deny lists of the hosts http calls may reach and of the runners steps may use (docs/policies.md). Deny wins; an empty allow list allows everything not denied.",
      schema: setSchema,
      mutates: true,
      audit: 'policy.set',
      target: (p: PolicySet) => policyStream(p.workspaceId),
      load: (r, p: PolicySet) => workspaceStatus(r, p.workspaceId),
      decide: (ws: WorkspaceStatus, p: PolicySet) => {
        assertActiveWorkspace(ws, p.workspaceId);
        const payload = { workspaceId: p.workspaceId, hosts: { allow: [...p.hosts.allow], deny: [...p.hosts.deny] }, runners: { allow: [...p.runners.allow], deny: [...p.runners.deny] } };
        return { events: [{ stream: policyStream(p.workspaceId), type: 'policy.set', payload }], value: { workspaceId: p.workspaceId } };
      },
    },
    {
      type: 'policy.violation.record',
      internal: true,
      concurrent: 'Each device records the calls it refused; nothing to resolve.',
      description: 'Record a call the workspace policy refused (the engine, at run time): audited, so the audit chain holds what was refused, by which rule, in which step.',
      schema: violationSchema,
      mutates: true,
      audit: 'policy.violation',
      decide: (_s: unknown, p: Violation) => ({ events: [{ stream: violationStream(p.workspaceId), type: 'policy.violated', payload: p }], value: { recorded: true } }),
    },
  ]),
  events: [
    { type: 'policy.set', version: 1, scope: 'workspace', concurrent: 'The later in merge order wins as a whole.', description: "A workspace's policy was replaced (all four lists).", schema: setEvent },
    { type: 'policy.violated', version: 1, concurrent: 'Each device records its own refusals.', description: 'A step called a host or used a runner the workspace policy does not allow; the call was not made.', schema: violationSchema },
  ],
  projections: [{
    name: 'policies',
    version: 1,
    tables: ['policies', 'policy_violations'],
    createSql: `CREATE TABLE policies (workspace_id TEXT PRIMARY KEY, policy TEXT NOT NULL, updated_at TEXT NOT NULL) STRICT;
      CREATE TABLE policy_violations (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, at TEXT NOT NULL, actor TEXT NOT NULL, body TEXT NOT NULL) STRICT;
      CREATE INDEX policy_violations_by_workspace ON policy_violations (workspace_id, at, id);`,
    eventTypes: ['policy.set', 'policy.violated'],
    apply(e, w) {
      if (e.type === 'policy.set') {
        const p = e.payload as PolicySet;
        w.run(`INSERT INTO policies (workspace_id, policy, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (workspace_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`,
        [p.workspaceId, JSON.stringify({ hosts: p.hosts, runners: p.runners }), e.at]);
        return;
      }
      const { workspaceId, ...body } = e.payload as Violation;
      w.run('INSERT OR IGNORE INTO policy_violations (id, workspace_id, at, actor, body) VALUES (?, ?, ?, ?, ?)', [e.id, workspaceId, e.at, e.actor, JSON.stringify(body)]);
    },
  }],
  queries: defineQueries([{
    name: 'policy.get',
    description: "A workspace's policy (the open policy, updatedAt null, when none was ever set).",
    schema: z.strictObject({ workspaceId: workspaceField }),
    run: (r, p: { workspaceId: string }): PolicyView => {
      const row = r.get('SELECT policy, updated_at FROM policies WHERE workspace_id = ?', [p.workspaceId]);
      if (!row) return { workspaceId: p.workspaceId, ...OPEN_POLICY, updatedAt: null };
      return { workspaceId: p.workspaceId, ...(JSON.parse(String(row['policy'])) as Policy), updatedAt: String(row['updated_at']) };
    },
  }, {
    name: 'policy.validate',
    description: 'Check a draft policy as a person edits it: every bad or repeated pattern with what is wrong; and, given a URL or a runner name, whether the draft allows it (and the sentence when it does not).',
    schema: z.strictObject({ hosts: draftLists, runners: draftLists, url: z.string().max(2000).optional(), runner: z.string().max(200).optional() }),
    run: (_r, p: Policy & { url?: string; runner?: string }) => {
      const problems: PolicyProblem[] = [];
      for (const [kind, name] of [['host', 'hosts'], ['runner', 'runners']] as const) {
        for (const list of ['allow', 'deny'] as const) {
          for (const x of listProblems(kind, p[name][list])) problems.push({ list: `${name}.${list}`, ...x });
          if (p[name][list].length > MAX_PATTERNS) problems.push({ list: `${name}.${list}`, index: MAX_PATTERNS, pattern: '', problem: `a list holds at most ${MAX_PATTERNS} patterns` });
        }
      }
      const tried = (kind: PatternKind, target: string, v: ReturnType<typeof checkHost>) => ({ target, allowed: v.ok, sentence: v.ok ? null : deniedSentence(kind, target, v) });
      // The draft is tried with its readable patterns (the bad ones are listed above and cannot be saved).
      const readable = (list: readonly string[]) => list.filter((x) => hostPatternProblem(x) === null);
      const hostsTried = { ...p, hosts: { allow: readable(p.hosts.allow), deny: readable(p.hosts.deny) } };
      return {
        problems,
        ...(p.url ? { url: tried('host', displayHost(p.url) ?? p.url, checkHost(hostsTried, p.url)) } : {}),
        ...(p.runner ? { runner: tried('runner', p.runner, checkRunner(p, p.runner)) } : {}),
      };
    },
  }, {
    name: 'policy.violations',
    description: "A workspace's most recent refused calls, newest first (what, which rule, which session step).",
    schema: z.strictObject({ workspaceId: workspaceField, limit: z.number().int().min(1).max(500).default(20) }),
    run: (r, p: { workspaceId: string; limit: number }): ViolationRow[] => r.all(
      'SELECT id, at, actor, body FROM policy_violations WHERE workspace_id = ? ORDER BY at DESC, id DESC LIMIT ?', [p.workspaceId, p.limit],
    ).map((x) => ({ id: String(x['id']), at: String(x['at']), actor: String(x['actor']), ...(JSON.parse(String(x['body'])) as Omit<Violation, 'workspaceId'>) })),
  }]),
} satisfies KernelModule;

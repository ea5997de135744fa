/**
 * What "Try the demo" creates, as ordinary kernel commands (no backdoor): a workspace marked as
 * demo data, the example workflows (src/lib/examples.ts) plus `demo-release`, a few Forest notes
 * linked with [[wiki links]] and tags, and one session of `demo-release` that runs live.
 *
 * Invariants:
 * 1. Pure and deterministic: the same workspace id and idempotency key give the same commands
 *    (byte for byte), so a repeat of the action replays the first result instead of making a
 *    second demo (the kernel refuses a reused key with a different payload).
 * 2. The workspace's description starts with DEMO_MARK (mark.ts): that is what marks it as demo data.
 * 3. `demo-release` runs offline on the built-in runners: `check` is `demo.flaky` with
 *    `failTimes: 1`, so attempt 1 fails (retryable) and attempt 2, after the fixed 4 s retry
 *    delay, succeeds; then `sign_off` waits for a person (the Inbox). Real engine behaviour.
 * 4. Every [[wiki link]] in DEMO_NOTES names another demo note's title (unit-tested).
 */
import type { TypedCommand } from '../../../worker/api.ts';
import { EXAMPLES } from '../examples.ts';
import { DEMO_MARK, DEMO_RETRY_SECONDS, DEMO_WORKFLOW } from './mark.ts';

export { DEMO_MARK, DEMO_RETRY_SECONDS, DEMO_WORKFLOW, isDemoWorkspace } from './mark.ts';
export const DEMO_WORKSPACE_NAME = 'Kingdom demo';
export const DEMO_DESCRIPTION = `${DEMO_MARK}, made by “Try the demo”: the example workflows, a few linked Forest notes and one live session. Remove it from its banner.`;

export const DEMO_RELEASE_SOURCE = `# The demo run ("Try the demo"): prepare a release, check it, ask for approval, publish.
# The check fails once on purpose (demo.flaky, failTimes: 1) and passes on its retry
# ${DEMO_RETRY_SECONDS} s later; then the session waits for you in the Inbox.
name: ${DEMO_WORKFLOW}
version: 1.0.0
description: Prepare a release, check it (fails once, passes on the retry), ask you to approve, publish.
inputs:
  release:
    type: string
    default: "2.4.0"
    description: The release to ship.
steps:
  - id: prepare
    type: task
    runner: demo.sleep
    with: { ms: 1500, value: "{{ inputs.release }}" }
  - id: check
    type: task
    runner: demo.flaky
    dependsOn: [prepare]
    with: { failTimes: 1, value: all checks green }
    retry: { maxAttempts: 3, backoff: fixed, initialDelay: ${DEMO_RETRY_SECONDS}s }
  - id: sign_off
    type: approval
    dependsOn: [check]
    prompt: "Ship release {{ inputs.release }}? The check passed on attempt {{ steps.check.output.attempt }}."
  - id: publish
    type: task
    runner: transform
    dependsOn: [sign_off]
    with:
      value: "Release {{ inputs.release }} shipped, approved by {{ steps.sign_off.output.by }}."
outputs:
  note: "{{ steps.publish.output }}"
`;

export interface DemoNote {
  readonly title: string;
  readonly tags: readonly string[];
  readonly body: string;
}

export const DEMO_NOTES: readonly DemoNote[] = [
  {
    title: 'Release checklist',
    tags: ['release', 'process'],
    body: `How a release ships here, step by step (the \`${DEMO_WORKFLOW}\` workflow does it):

1. Prepare the release.
2. Run the [[Build checks]]; a flaky one is retried (see [[Retries]]).
3. Ask for a sign-off: an [[Approvals|approval]] waits in the Inbox.
4. Publish, and add a line to the [[Release notes]].`,
  },
  {
    title: 'Build checks',
    tags: ['release', 'ci'],
    body: `Checks fail now and then for reasons that go away on a second try (a busy runner, a slow network).
Rather than failing the whole release, the check step has a retry policy: see [[Retries]].
Part of the [[Release checklist]].`,
  },
  {
    title: 'Retries',
    tags: ['engine'],
    body: `A step with \`retry:\` runs again after a delay when it fails with a retryable error: fixed, linear or exponential backoff, at most \`maxAttempts\` times.
The session page shows the wait ("retrying in 4 s") and each attempt on the timeline. Used by the [[Build checks]].`,
  },
  {
    title: 'Approvals',
    tags: ['engine', 'people'],
    body: `An \`approval\` step waits for a person. It appears in the Inbox (the count in the navigation) and on the session page; approving lets the session go on, rejecting fails it.
Used by the [[Release checklist]].`,
  },
  {
    title: 'Release notes',
    tags: ['release', 'docs'],
    body: `What shipped, newest first.

- 2.4.0: the demo release, approved in the Inbox (see [[Approvals]]).`,
  },
];

/** Every workflow the demo saves: the examples, then `demo-release`. */
export function demoWorkflowSources(): string[] {
  return [...EXAMPLES.map((e) => e.source), DEMO_RELEASE_SOURCE];
}

/**
 * The commands that create one demo, in order, as ONE batch: the workspace, its workflows, its
 * notes, then the live session (its result, the last, carries the session id). Each command's
 * idempotency key is derived from `key`.
 */
export function demoCommands(workspaceId: string, key: string): TypedCommand[] {
  let n = 0;
  const k = (what: string): string => `${key}/${n++}:${what}`;
  return [
    { type: 'workspace.create', payload: { workspaceId, name: DEMO_WORKSPACE_NAME, description: DEMO_DESCRIPTION }, idempotencyKey: k('workspace') },
    ...demoWorkflowSources().map((source): TypedCommand => ({ type: 'workflow.save', payload: { workspaceId, source }, idempotencyKey: k('workflow') })),
    ...DEMO_NOTES.map((note): TypedCommand => ({
      type: 'forest.node.create',
      payload: { workspaceId, title: note.title, body: note.body, tags: [...note.tags] },
      idempotencyKey: k('note'),
    })),
    { type: 'session.start', payload: { workspaceId, workflow: DEMO_WORKFLOW, inputs: {} }, idempotencyKey: k('session') },
  ];
}

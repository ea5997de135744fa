/**
 * A workspace worth exporting, for the workspace-file tests: on a file database (the Node VFS) with
 * the engine running the example workflows of the app (src/lib/examples.ts), it holds a finished
 * run, an approved run, a run waiting for approval, a run with a large output (a blob), Forest
 * notes linked to each other, a project, a secret and a provider — and, in the default
 * workspace, a run and a note that must never leave with it.
 *
 * Invariants:
 * 1. Everything the engine does is settled before the fixture is handed out (summaries included).
 * 2. `SECRET_VALUE` is set as a secret of the exported workspace and used by a step's input; no
 *    file may contain it.
 */
import { join } from 'node:path';
import { Harness } from '../unit/engine/sessions/helpers.ts';
import { EXAMPLES } from '../../src/lib/examples.ts';

export const SECRET_VALUE = 'sk-very-secret-value-7f3a9c';

export interface AcmeFixture {
  readonly h: Harness;
  readonly ws: string;
  readonly sessions: { readonly hello: string; readonly approved: string; readonly waiting: string; readonly big: string; readonly secretive: string; readonly elsewhere: string };
  readonly notes: readonly string[];
}

export const example = (name: string): string => EXAMPLES.find((e) => e.name === name)!.source;

const BIG = `name: big
version: 1.0.0
inputs:
  text: { type: string, required: true }
steps:
  - id: echo
    type: task
    runner: transform
    with:
      value: "{{ inputs.text }}"
`;

const SECRETIVE = `name: secretive
version: 1.0.0
steps:
  - id: call
    type: task
    runner: transform
    with:
      value: "token={{ secrets.TOKEN }}"
`;

/** Open a file database in `dir` and fill it (invariant 1). */
export async function acme(dir: string, name = 'a.sqlite'): Promise<AcmeFixture> {
  const h = await Harness.open({ file: join(dir, name) });
  const ws = (h.cmd('workspace.create', { name: 'Acme', description: 'Launch work' }) as { workspaceId: string }).workspaceId;
  const projectId = (h.cmd('project.create', { workspaceId: ws, name: 'Launch' }) as { projectId: string }).projectId;
  h.cmd('secret.set', { workspaceId: ws, name: 'TOKEN', value: SECRET_VALUE });
  h.cmd('llm.provider.set', { workspaceId: ws, id: 'local', kind: 'openai', baseUrl: 'http://127.0.0.1:1/v1', models: ['m'], apiKeySecret: 'TOKEN' });
  for (const n of ['hello', 'approval']) h.cmd('workflow.save', { workspaceId: ws, source: example(n) });
  const start = (source: string, inputs: Record<string, string | boolean> = {}, workspaceId = ws, project = true): string =>
    (h.cmd('session.start', { workspaceId, source, inputs, ...(project && workspaceId === ws ? { projectId } : {}) }) as { sessionId: string }).sessionId;
  const hello = start(example('hello'), { who: 'Ada' });
  const approved = start(example('approval'), { release: '2.0.0' });
  const waiting = start(example('approval'), { release: '3.0.0' });
  const big = start(BIG, { text: 'x'.repeat(20_000) });
  const secretive = start(SECRETIVE, {}, ws, false);
  const elsewhere = start(example('hello'), { who: 'Default' }, '00000000-0000-4000-8000-000000000000');
  await h.ended(approved, { approve: 'sign_off' });
  for (const id of [hello, big, secretive, elsewhere]) await h.ended(id);
  await h.settle();
  const note = (title: string, body: string, workspaceId = ws) =>
    (h.cmd('forest.node.create', { workspaceId, title, body, tags: ['launch'] }) as { nodeId: string }).nodeId;
  const plan = note('Launch plan', 'Ship **2.0.0** after sign-off.');
  const risks = note('Risks', `See the plan; the run ${hello} greeted Ada.`);
  h.cmd('forest.link.create', { from: risks, to: plan, type: 'relates_to' });
  h.cmd('forest.node.update', { nodeId: plan, body: 'Ship **2.0.0** after sign-off. Updated.' });
  note('Default note', 'not in Acme', '00000000-0000-4000-8000-000000000000');
  // Summaries are written a moment after a run ends (learning): wait for them.
  for (let i = 0; i < 200 && (h.k.query('forest.node.list', { workspaceId: ws, tag: 'session' }) as { total: number }).total < 4; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await h.settle();
  return { h, ws, sessions: { hello, approved, waiting, big, secretive, elsewhere }, notes: [plan, risks] };
}

/**
 * Crash-test child for test/unit/kernel/crash.test.ts.
 *
 * Usage: node --import tsx test/helpers/kernel-crash-child.ts <db-path> <max-commands> <seed> <round>
 *
 * Opens a file-backed kernel (`openKernel({ storage: { file } })`, checkpointEvery 10) and issues
 * workspace/project create/rename commands (some as two-command batches) with unique idempotency
 * keys. For each command it writes, with synchronous writes to stdout, one JSON line per step:
 *
 *   {"ready": true, "head": <seq>}                      after open
 *   {"intent": <key>, "cmds": [...]}                    before executing
 *   {"ack": <key>, "seqs": [...], "cmds": [...]}        after the command returned (committed)
 *   {"done": true, "head": <seq>}                       after close
 *
 * Invariants:
 * 1. An ack is written only after `command()`/`commandBatch()` returned, i.e. after COMMIT.
 * 2. The loop is bounded by <max-commands>; the process always ends on its own.
 * 3. Commands are deterministic given (seed, round) and never collide with other rounds' names
 *    or keys, so every one of them is expected to succeed.
 */
import { writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { openKernel } from '../../worker/node/index.ts';
import type { CommandInput } from '../../worker/kernel/commands/envelope.ts';
import { mulberry32 } from './prng.ts';

const [file, maxArg, seedArg, roundArg] = process.argv.slice(2);
if (!file || !maxArg || !seedArg || !roundArg) {
  process.stderr.write('usage: kernel-crash-child.ts <db-path> <max-commands> <seed> <round>\n');
  process.exit(2);
}
const max = Number(maxArg);
const seed = Number(seedArg);
const round = Number(roundArg);

const rand = mulberry32(seed ^ Math.imul(round + 1, 0x9e3779b1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const line = (o: unknown) => writeSync(1, `${JSON.stringify(o)}\n`);

const k = await openKernel({ storage: { file }, checkpointEvery: 10 });
line({ ready: true, head: k.status().headSeq });

const workspaces: string[] = [];
const projects: string[] = [];

for (let i = 0; i < max; i++) {
  const key = `crash-${seed}-${round}-${i}`;
  const tag = `${round}-${i}`;
  const r = rand();
  let cmds: CommandInput[];
  if (workspaces.length === 0 || r < 0.25) {
    cmds = [{ type: 'workspace.create', payload: { name: `W ${tag}` }, idempotencyKey: key }];
  } else if (r < 0.45) {
    cmds = [{ type: 'workspace.rename', payload: { workspaceId: pick(workspaces), name: `W ${tag} renamed` }, idempotencyKey: key }];
  } else if (r < 0.7) {
    cmds = [{ type: 'project.create', payload: { workspaceId: pick(workspaces), name: `P ${tag}` }, idempotencyKey: key }];
  } else if (r < 0.85 && projects.length > 0) {
    cmds = [{ type: 'project.rename', payload: { projectId: pick(projects), name: `P ${tag} renamed` }, idempotencyKey: key }];
  } else {
    const workspaceId = randomUUID();
    cmds = [
      { type: 'workspace.create', payload: { workspaceId, name: `WB ${tag}` }, idempotencyKey: `${key}-a` },
      { type: 'project.create', payload: { workspaceId, projectId: randomUUID(), name: `PB ${tag}` }, idempotencyKey: `${key}-b` },
    ];
  }
  line({ intent: key, cmds });
  const results = cmds.length === 1 ? [k.command(cmds[0]!)] : k.commandBatch(cmds);
  line({ ack: key, seqs: results.flatMap((res) => res.events.map((e) => e.seq)), cmds });
  for (const res of results) {
    const v = res.value as { workspaceId?: string; projectId?: string };
    if (res.type === 'workspace.create' && v.workspaceId) workspaces.push(v.workspaceId);
    if (res.type === 'project.create' && v.projectId) projects.push(v.projectId);
  }
  // Yield now and then so asynchronously signed checkpoints get written between commands.
  if (i % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
}
const head = k.status().headSeq;
await k.close();
line({ done: true, head });

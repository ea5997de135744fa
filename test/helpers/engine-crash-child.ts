/**
 * Crash-test child for test/unit/engine/crash-sigkill.test.ts: runs the workflow engine on a
 * file database until one session ends, so the parent can SIGKILL it mid-run and start another.
 *
 * Usage: node --import tsx test/helpers/engine-crash-child.ts <db-path> <base-url> <workflow-file>
 *
 * Opens `openKernel({ storage: { file } })`, starts the engine, then issues `session.start` of
 * the workflow (env.base = <base-url>) with a fixed idempotency key: the first child that gets
 * that far starts the session, every later one gets the same session back as a replay. Writes
 * one JSON line per step with synchronous writes to stdout:
 *
 *   {"ready": true, "sessionId": <id>, "replayed": <bool>, "head": <seq>}
 *   {"done": true, "status": <session status>, "output": <session output>}   then exit 0
 *
 * Invariants:
 * 1. Bounded: the child gives up (exit 4) if the session has not ended within 30 s.
 * 2. An engine bug reported through `onError` ends the child with exit 3 (stderr has it).
 */
import { readFileSync, writeSync } from 'node:fs';
import { openKernel } from '../../worker/node/index.ts';
import { Engine } from '../../worker/engine/engine.ts';

const [file, base, workflowFile] = process.argv.slice(2);
if (!file || !base || !workflowFile) {
  process.stderr.write('usage: engine-crash-child.ts <db-path> <base-url> <workflow-file>\n');
  process.exit(2);
}
const line = (o: unknown) => writeSync(1, `${JSON.stringify(o)}\n`);
const source = readFileSync(workflowFile, 'utf8');

const k = await openKernel({ storage: { file } });
Engine.start(k, {
  onError: (err) => {
    process.stderr.write(`engine error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(3);
  },
});
const started = k.command({ type: 'session.start', payload: { source, env: { base } }, idempotencyKey: 'crash-sigkill-start' });
const sessionId = (started.value as { sessionId: string }).sessionId;
line({ ready: true, sessionId, replayed: started.replayed, head: k.status().headSeq });

const deadline = Date.now() + 30_000;
for (;;) {
  const s = k.query('session.get', { sessionId }) as { status: string; output: unknown };
  if (s.status === 'succeeded' || s.status === 'failed' || s.status === 'cancelled') {
    await k.close();
    line({ done: true, status: s.status, output: s.output });
    process.exit(0);
  }
  if (Date.now() > deadline) {
    process.stderr.write(`session ${sessionId} still ${s.status} after 30 s\n`);
    process.exit(4);
  }
  await new Promise((r) => setTimeout(r, 5));
}

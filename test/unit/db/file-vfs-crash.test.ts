/**
 * The Node file VFS (worker/node/file-vfs.ts) under a real process kill: committed data survives
 * a SIGKILL of the writing process (every row the child acknowledged after COMMIT is present, and
 * `integrity_check` is ok). In the slow suite (scripts/slow.sh); the rest of the VFS is in
 * file-vfs.test.ts.
 *
 * Run: node --import tsx --test test/unit/db/file-vfs-crash.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileAdapter } from '../../../worker/node/file-adapter.ts';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRASH_CHILD = fileURLToPath(new URL('../../helpers/file-vfs-crash-child.ts', import.meta.url));

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kingdom-file-vfs-'));
}

interface ChildRun {
  acked: number[];
  killedAfter: number;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Run the crash child against `path` and SIGKILL it once `killAfter` ids were acknowledged. */
function runCrashChild(path: string, killAfter: number, maxRows: number): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_CHILD, path, String(maxRows)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: number[] = [];
    let killedAfter = -1;
    let pending = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash child timed out; stderr: ${stderr}`));
    }, 15_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        if (/^\d+$/.test(line)) acked.push(Number(line));
      }
      if (killedAfter < 0 && acked.length >= killAfter) {
        killedAfter = acked.length;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolvePromise({ acked, killedAfter, signal, stderr });
    });
  });
}

test('SIGKILL mid-write: every acknowledged commit survives and the file is intact', async (t) => {
  const dir = tempDir();
  const MAX_ROWS = 300;
  try {
    const path = join(dir, 'crash.db');
    let expectedMin = 0;
    for (let round = 1; round <= 5; round++) {
      const killAfter = 1 + Math.floor(Math.random() * 200);
      const run = await runCrashChild(path, killAfter, MAX_ROWS);
      assert.equal(run.stderr, '', `child wrote to stderr in round ${round}`);
      t.diagnostic(
        `round ${round}: kill after ${killAfter}, acked ${run.acked.length}, signal ${String(run.signal)}`,
      );
      assert.equal(run.signal, 'SIGKILL', `round ${round}: child was killed, not finished`);
      assert.ok(run.acked.length >= killAfter);
      assert.ok(existsSync(`${path}-wal`), `round ${round}: the reopen below must recover a WAL`);

      // Reopen in this process: reclaims the dead child's lock and recovers the WAL.
      const db = await fileAdapter(path).open();
      try {
        assert.equal(db.db.selectValue('PRAGMA integrity_check'), 'ok', `round ${round}: integrity`);
        const present = new Set(db.db.selectValues('SELECT id FROM crash_rows').map(Number));
        const missing = run.acked.filter((id) => !present.has(id));
        assert.deepEqual(missing, [], `round ${round}: acknowledged rows missing after SIGKILL`);
        assert.ok(present.size >= expectedMin + run.acked.length, `round ${round}: no earlier rows lost`);
        expectedMin = present.size;
        const badDigests = db.db.selectValue(
          "SELECT count(*) FROM crash_rows WHERE digest <> lower(hex(substr(payload, 1, 16))) || ':' || length(payload)",
        );
        assert.equal(badDigests, 0, `round ${round}: payloads intact`);
      } finally {
        await db.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * One small workflow per feature (test/fixtures/workflows/run/*.yaml), each run to its end in Node
 * under a manual clock against a real HTTP server on 127.0.0.1. A fixture's header comments say
 * what to expect:
 *   # expect: succeeded | failed        # inputs: {json}        # output: {json}
 *   # error: <error type>               # approve: <step id>    # save: <other fixture to save first>
 *   # effects: {name: count}            (effects counted on the server, deduplicated by Idempotency-Key)
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openKernel } from '../../../worker/node/index.ts';
import { Engine } from '../../../worker/engine/engine.ts';
import { ManualClock } from '../../../worker/engine/clock.ts';
import { startEffectServer, type EffectServer } from '../../helpers/effect-server.ts';

const DIR = join(import.meta.dirname, '../../fixtures/workflows/run');
const SECRET = 'tok-3f9a1c77-very-secret';

function header(source: string, key: string): string | undefined {
  return new RegExp(`^# ${key}: (.*)$`, 'm').exec(source)?.[1]?.trim();
}

let server: EffectServer;
before(async () => { server = await startEffectServer(); });
after(async () => { await server.close(); });

describe('every feature fixture runs to its end', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml')).sort()) {
    test(file, async () => {
      const source = readFileSync(join(DIR, file), 'utf8');
      server.reset();
      const clock = new ManualClock();
      const k = await openKernel({ storage: 'memory', clock: clock.now });
      const engine = Engine.start(k, { clock, onError: (err) => { throw err; } });
      let n = 0;
      const key = (): string => `${file}-${++n}`;
      try {
        k.command({ type: 'secret.set', payload: { name: 'API_TOKEN', value: SECRET }, idempotencyKey: key() });
        const save = header(source, 'save');
        if (save) k.command({ type: 'workflow.save', payload: { source: readFileSync(join(DIR, save), 'utf8') }, idempotencyKey: key() });
        const inputs = JSON.parse(header(source, 'inputs') ?? '{}') as object;
        const started = k.command({ type: 'session.start', payload: { source, inputs, env: { base: server.url } }, idempotencyKey: key() });
        const id = (started.value as { sessionId: string }).sessionId;
        const get = (): { status: string; output: unknown; error: { type: string } | null; steps: { key: string; status: string; approval: unknown }[] } =>
          k.query('session.get', { sessionId: id }) as never;
        const approve = header(source, 'approve');
        for (let i = 0; i < 300 && !['succeeded', 'failed', 'cancelled'].includes(get().status); i++) {
          // A runner may be busy on real time (demo.sleep) while its deadline is on the manual clock.
          await Promise.race([engine.idle(), new Promise((r) => setTimeout(r, 20))]);
          await new Promise((r) => setImmediate(r));
          if (approve && get().steps.some((s) => s.key === approve && s.status === 'waiting')) {
            k.command({ type: 'session.approve', payload: { sessionId: id, step: approve, comment: 'looks good' }, idempotencyKey: key() });
            continue;
          }
          const next = clock.nextTimer();
          if (next !== undefined) clock.advance(Math.max(0, next - clock.now()));
          else await new Promise((r) => setTimeout(r, 2));
        }
        const s = get();
        assert.equal(s.status, header(source, 'expect'), `${file}: ${JSON.stringify(s.error)}`);
        const output = header(source, 'output');
        if (output) assert.deepEqual(s.output, JSON.parse(output));
        const error = header(source, 'error');
        if (error) assert.equal(s.error?.type, error);
        const effects = header(source, 'effects');
        if (effects) for (const [name, count] of Object.entries(JSON.parse(effects) as Record<string, number>)) assert.equal(server.counts().get(name) ?? 0, count, `effect ${name}`);
        const leaked = k.sql.value('SELECT count(*) FROM events WHERE instr(payload, ?) > 0', [SECRET]);
        assert.equal(leaked, 0, 'no secret value in the log');
        assert.equal((await k.verify()).ok, true);
      } finally {
        engine.stop();
        await k.close();
      }
    });
  }
});

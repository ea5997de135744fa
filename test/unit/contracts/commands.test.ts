/**
 * The contracts slice on a real kernel: set / enable / disable / remove / fire, the queries, and
 * every refusal changing nothing (unknown workflow, inputs the workflow refuses, a cron expression
 * or time zone croner refuses, a contract event as trigger, another workspace's contract).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catchError, eventCount } from '../../helpers/kernel.ts';
import { ContractWorld, QUICK, SLOW } from './harness.ts';
import { firingKey as scheduleFiringKey } from '../../../worker/contracts/schedule.ts';
import { firingKey, firingSessionId } from '../../../worker/domains/contracts/firing.ts';

const button = { name: 'Say hi', workflow: 'quick', inputs: { who: 'Ada' }, trigger: { kind: 'button' } };

test('set, list, get; the button runs the workflow; the firing records its session', async () => {
  const w = await ContractWorld.open();
  try {
    w.save(QUICK);
    const id = w.set(button);
    const list = w.k.query('contract.list', {}) as { id: string; name: string; enabled: boolean; overlap: string; catchUp: { mode: string } }[];
    assert.deepEqual(list.map((c) => [c.id, c.name, c.enabled, c.overlap, c.catchUp.mode]), [[id, 'Say hi', true, 'skip', 'skip']]);
    const fired = w.cmd('contract.fire', { id }) as { sessionId: string; key: string };
    assert.equal(fired.sessionId, firingSessionId(fired.key, w.k.deviceId), 'the session id derives from the firing key and the device');
    await w.settle();
    assert.equal(w.sessionStatus(fired.sessionId), 'succeeded');
    const got = w.get(id);
    assert.equal(got.firings.length, 1);
    assert.equal(got.firings[0]!.source, 'button');
    assert.equal(got.firings[0]!.status, 'succeeded');
    assert.equal(got.running, 0);
    const env = w.k.query('session.get', { sessionId: fired.sessionId }) as { inputs: { who: string } };
    assert.equal(env.inputs.who, 'Ada');
  } finally {
    await w.close();
  }
});

test('a kata as the target: the workflow of its highest installed version runs, looked up at each firing', async () => {
  const w = await ContractWorld.open();
  try {
    const kata = (version: string, workflow: string): string => `kind: Kata\nname: greet.kata\nversion: ${version}\nworkflow: ${workflow}\n`;
    const before = eventCount(w.k);
    assert.equal(catchError(() => w.set({ ...button, workflow: 'kata:greet.kata' })).code, 'not_found', 'no such kata yet');
    assert.equal(eventCount(w.k), before, 'nothing changed');
    w.save(QUICK);
    w.cmd('manifest.apply', { source: kata('1.0.0', 'quick') });
    const id = w.set({ ...button, workflow: 'kata:greet.kata' });
    const first = w.cmd('contract.fire', { id }) as { sessionId: string };
    await w.settle();
    assert.equal(w.sessionStatus(first.sessionId), 'succeeded');
    w.save(QUICK.replace('name: quick', 'name: quick_two').replace('hi {{', 'hello {{'));
    w.cmd('manifest.apply', { source: kata('1.1.0', 'quick_two') });
    const second = w.cmd('contract.fire', { id }) as { sessionId: string };
    await w.settle();
    const s = w.k.query('session.get', { sessionId: second.sessionId }) as { workflow: { name: string }; output: { said: string } };
    assert.equal(s.workflow.name, 'quick_two', 'the workflow of the upgraded kata runs');
    assert.equal(s.output.said, 'hello Ada');
  } finally {
    await w.close();
  }
});

test('replace, disable (fire refused), enable, remove', async () => {
  const w = await ContractWorld.open();
  try {
    w.save(QUICK);
    const id = w.set(button);
    assert.equal(w.set({ ...button, id, name: 'Say hello' }), id);
    assert.equal(w.get(id).name, 'Say hello');
    w.cmd('contract.disable', { id });
    assert.equal(w.get(id).enabled, false);
    const before = eventCount(w.k);
    assert.equal(catchError(() => w.cmd('contract.fire', { id })).code, 'invalid_state');
    assert.equal(eventCount(w.k), before, 'a refused press appends nothing');
    w.cmd('contract.enable', { id });
    assert.equal(w.get(id).enabled, true);
    w.cmd('contract.remove', { id });
    assert.equal(w.k.query('contract.get', { id }), null);
    assert.equal(catchError(() => w.cmd('contract.remove', { id })).code, 'not_found');
  } finally {
    await w.close();
  }
});

test('invalid input is refused with a typed error and a sentence, and changes nothing', async () => {
  const w = await ContractWorld.open();
  try {
    w.save(QUICK);
    const before = eventCount(w.k);
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...button, workflow: 'nope' }, 'not_found', /no saved workflow nope/],
      [{ ...button, inputs: {} }, 'invalid_inputs', /who/],
      [{ ...button, trigger: { kind: 'cron', cron: 'every day' } }, 'invalid_trigger', /is not a cron expression/],
      [{ ...button, trigger: { kind: 'cron', cron: '0 0 31 2 *' } }, 'invalid_trigger', /never fires/],
      [{ ...button, trigger: { kind: 'cron', cron: '30 2 * * *', timezone: 'Mars/Olympus' } }, 'invalid_trigger', /not a time zone/],
      [{ ...button, trigger: { kind: 'event', type: 'contract.fired', filter: {} } }, 'invalid_trigger', /loop/],
      [{ ...button, trigger: { kind: 'event', type: 'Not A Type' } }, 'invalid_payload', /event type/],
      [{ ...button, overlap: 'sometimes' }, 'invalid_payload', /overlap/],
      [{ ...button, catchUp: { mode: 'all', windowMs: 1000 } }, 'invalid_payload', /cap/],
      [{ ...button, surprise: 1 }, 'invalid_payload', /surprise/],
    ];
    for (const [payload, code, message] of cases) {
      const err = catchError(() => w.set(payload));
      assert.equal(err.code, code, JSON.stringify(payload));
      assert.match(err.message + JSON.stringify(err.details), message);
    }
    const tz = catchError(() => w.set({ ...button, trigger: { kind: 'cron', cron: '30 2 * * *', timezone: 'Mars/Olympus' } }));
    assert.equal(tz.details['field'], 'payload.trigger.timezone');
    assert.equal(eventCount(w.k), before, 'nothing was appended');
    assert.deepEqual(w.k.query('contract.list', {}), []);
    const preview = w.k.query('contract.preview', { cron: '30 2 * * *', timezone: 'Europe/Berlin', at: Date.UTC(2026, 2, 27) }) as { ok: true; next: number[] };
    assert.deepEqual(preview.next.slice(0, 3).map((x) => new Date(x).toISOString()), ['2026-03-27T01:30:00.000Z', '2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z']);
    assert.deepEqual(w.k.query('contract.preview', { cron: 'x' }), { ok: false, message: (w.k.query('contract.preview', { cron: 'x' }) as { message: string }).message });
  } finally {
    await w.close();
  }
});

test('overlap on the button: skip refuses while a run runs, allow starts a second', async () => {
  const w = await ContractWorld.open();
  try {
    w.save(SLOW);
    const skip = w.set({ name: 'slow', workflow: 'slow', trigger: { kind: 'button' } });
    const first = w.cmd('contract.fire', { id: skip }) as { sessionId: string };
    await w.settle();
    const err = catchError(() => w.cmd('contract.fire', { id: skip }));
    assert.equal(err.code, 'invalid_state');
    assert.match(err.message, /still running/);
    const allow = w.set({ name: 'slow2', workflow: 'slow', trigger: { kind: 'button' }, overlap: 'allow' });
    w.cmd('contract.fire', { id: allow });
    w.clock.advance(1);
    w.cmd('contract.fire', { id: allow });
    assert.equal(w.get(allow).running, 2);
    await w.settle();
    await w.advance(3_600_000);
    await w.settle();
    assert.equal(w.sessionStatus(first.sessionId), 'succeeded');
    assert.deepEqual(w.get(allow).firings.map((f) => f.status), ['succeeded', 'succeeded']);
    assert.equal(w.get(allow).running, 0, 'ended runs are no longer counted');
  } finally {
    await w.close();
  }
});

test("the domain's firing key is schedule.ts's", () => {
  for (const t of [0, Date.UTC(2026, 2, 29, 1), Date.UTC(2030, 11, 31, 23, 59, 59, 999)]) assert.equal(firingKey('c', t), scheduleFiringKey('c', t));
});

/**
 * Forest runners (forest.search, forest.write), learning from finished sessions (summary nodes with
 * read_by / wrote links), the learning loop through a real LLM step against the fake OpenAI
 * server, and the use-case workflows of test/fixtures/workflows/usecases run end to end.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Json } from '../../../worker/kernel/errors.ts';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { openKernel } from '../../../worker/node/index.ts';
import { createForestRunners } from '../../../worker/engine/forest-runners.ts';
import { learnFromSession, summaryNodeId } from '../../../worker/engine/learning.ts';
import type { RunRequest } from '../../../worker/engine/runners/types.ts';
import { startFakeOpenAI, type FakeLlmServer, type FakeReply } from '../../helpers/fake-openai.ts';
import { Harness, type SessionView } from './sessions/helpers.ts';

const USECASES = join(import.meta.dirname, '../../fixtures/workflows/usecases');

interface NodeView { node: { id: string; title: string; body: string; tags: string[]; metadata: Record<string, Json>; sessionId: string | null; status: string }; outgoing: { to: string; type: string }[]; incoming: { from: string; type: string }[] }

let fake: FakeLlmServer;
before(async () => { fake = await startFakeOpenAI(); });
after(async () => { await fake.close(); });

const openLlm = (): Promise<Harness> => Harness.withModels(fake.url);
const finish = (h: Harness, id: string, approve?: string): Promise<SessionView> => h.ended(id, approve ? { approve } : {});

const node = (k: Kernel, id: string): NodeView | null => k.query('forest.node.get', { id }) as NodeView | null;
const eventCount = (k: Kernel, type?: string): number => Number(k.sql.value(`SELECT count(*) FROM events${type ? ' WHERE type = ?' : ''}`, type ? [type] : []));
const prompt = (i: number): string => (fake.requests[i]!.body as { messages: { content: string }[] }).messages.map((m) => m.content).join('\n');

function request(input: Record<string, Json>, key = `${randomUUID()}/step/1`): RunRequest {
  return { input, signal: new AbortController().signal, idempotencyKey: key, sessionId: key.split('/')[0]!, stepKey: 'step', attempt: 1, tryNumber: 1, now: () => Date.now() };
}

describe('forest runners', () => {
  test('forest.search: hits, ids read, and a markdown text cut to the budget', async () => {
    const k = await openKernel({ storage: 'memory' });
    try {
      const [search] = createForestRunners(k);
      const mk = (title: string, body: string, tags: string[]): string =>
        (k.command({ type: 'forest.node.create', payload: { title, body, tags }, idempotencyKey: randomUUID() }).value as { nodeId: string }).nodeId;
      const a = mk('Deploy checklist', `Always drain the queue before a deploy. ${'More detail. '.repeat(80)}`, ['ops']);
      mk('Deploy postmortem', 'The deploy of billing failed on a missing migration.', ['incident']);
      mk('Lunch menu', 'Soup of the day.', []);
      const out = await search!.execute(request({ query: 'deploy', topK: 2, budget: 300 })) as { hits: { id: string; title: string; snippet: string; tags: string[]; score: number }[]; total: number; text: string; read: string[] };
      assert.equal(out.hits.length, 2);
      assert.equal(out.total, 2);
      assert.deepEqual(out.read, out.hits.map((x) => x.id));
      assert.ok(out.text.length <= 300, `text is ${out.text.length} characters`);
      assert.match(out.text, /^- \*\*Deploy /);
      for (const hit of out.hits) assert.deepEqual(Object.keys(hit).sort(), ['id', 'score', 'snippet', 'tags', 'title']);
      const tagged = await search!.execute(request({ query: 'deploy', tags: ['ops'] })) as { read: string[]; text: string };
      assert.deepEqual(tagged.read, [a]);
      assert.match(tagged.text, /drain the queue/);
      const none = await search!.execute(request({ query: '' })) as { hits: unknown[]; text: string };
      assert.deepEqual([none.hits.length, none.text], [0, '']);
      await assert.rejects(search!.execute(request({ query: 'x', topK: 51 })), { type: 'invalid_input' });
      await assert.rejects(search!.execute(request({ tags: ['ops'] })), { type: 'invalid_input' });
    } finally {
      await k.close();
    }
  });

  test('forest.write: kernel commands keyed by the attempt, so a re-run of the attempt replays', async () => {
    const k = await openKernel({ storage: 'memory' });
    try {
      const [, write] = createForestRunners(k);
      const target = (k.command({ type: 'forest.node.create', payload: { title: 'Target' }, idempotencyKey: randomUUID() }).value as { nodeId: string }).nodeId;
      const input = { title: 'Result', body: { answer: 42 } as Json, tags: ['Answer'], metadata: { from: 'test' }, links: [{ to: target, type: 'derived_from' }] };
      const req = request(input);
      const first = await write!.execute(req) as { nodeId: string; created: boolean; wrote: string[]; links: { created: boolean }[] };
      const events = eventCount(k);
      const again = await write!.execute(req) as { nodeId: string };
      assert.equal(again.nodeId, first.nodeId, 'the same attempt replays');
      assert.equal(eventCount(k), events, 'nothing written twice');
      assert.deepEqual([first.created, first.wrote, first.links.map((l) => l.created)], [true, [first.nodeId], [true]]);
      const n = node(k, first.nodeId)!;
      assert.deepEqual([n.node.title, n.node.tags, n.node.sessionId, JSON.parse(n.node.body)], ['Result', ['answer'], req.sessionId, { answer: 42 }]);
      assert.deepEqual(n.outgoing.map((l) => [l.to, l.type]), [[target, 'derived_from']]);
      const other = await write!.execute(request(input)) as { nodeId: string };
      assert.notEqual(other.nodeId, first.nodeId, 'another attempt writes its own node');
      const before = eventCount(k);
      await assert.rejects(write!.execute(request({ title: 'x', links: [{ to: randomUUID(), type: 'mentions' }] })), { type: 'invalid_input' });
      await assert.rejects(write!.execute(request({ title: 'x', links: [{ to: target, type: 'Bad-Type' }] })), { type: 'invalid_input' });
      await assert.rejects(write!.execute(request({ body: 'no title' })), { type: 'invalid_input' });
      assert.equal(eventCount(k), before, 'a bad input writes nothing');
    } finally {
      await k.close();
    }
  });
});

const MEMORY = `
name: ask_with_memory
version: 1.0.0
inputs:
  question: { type: string, required: true }
steps:
  - id: past
    type: task
    runner: forest.search
    with: { query: "{{ inputs.question }}", tags: ["workflow:ask_with_memory"], topK: 3 }
  - id: answer
    type: llm
    dependsOn: [past]
    model: fake-model
    prompt: |
      Question: {{ inputs.question }}
      What earlier runs learned:
      {{ steps.past.output.text }}
    outputSchema: { type: object, required: [answer], properties: { answer: { type: string } } }
  - id: save
    type: task
    runner: forest.write
    dependsOn: [answer]
    with: { title: "Answer: {{ inputs.question }}", body: "{{ steps.answer.output.json.answer }}", tags: [answer] }
outputs:
  answer: "{{ steps.answer.output.json.answer }}"
`;

describe('learning from past runs', () => {
  test('the loop: the second session\'s prompt contains what the first session learned', async () => {
    const h = await openLlm();
    fake.reset();
    try {
      const question = 'how do we rotate the database credentials';
      fake.push({ json: { answer: 'Run vault-rotator with ticket ZEBRA-7731 first.' } }, { json: { answer: 'As before: vault-rotator.' } });
      const first = h.start(MEMORY, { question });
      assert.equal((await finish(h, first)).status, 'succeeded');
      assert.doesNotMatch(prompt(0), /ZEBRA-7731/);

      const summary1 = node(h.k, summaryNodeId(first))!;
      assert.equal(summary1.node.title, `ask_with_memory run ${first.slice(-8)}: succeeded`);
      assert.deepEqual(summary1.node.tags, ['session', 'workflow:ask_with_memory', 'succeeded']);
      assert.deepEqual(summary1.node.metadata, { sessionId: first, workflow: 'ask_with_memory', version: '1.0.0', outcome: 'succeeded' });
      assert.equal(summary1.node.sessionId, first);
      assert.match(summary1.node.body, /## Inputs[\s\S]*question: how do we rotate[\s\S]*## Steps[\s\S]*`answer` \(llm\): succeeded — \{"answer":"Run vault-rotator/);
      const saved1 = (h.step(first, 'save').output as { nodeId: string }).nodeId;
      assert.deepEqual(summary1.outgoing.map((l) => [l.to, l.type]), [[saved1, 'wrote']]);

      const second = h.start(MEMORY, { question });
      assert.equal((await finish(h, second)).status, 'succeeded');
      assert.equal(fake.count(), 2);
      assert.match(prompt(1), /ZEBRA-7731/, 'the second prompt carries the first run\'s answer');
      assert.ok(prompt(1).includes(`ask_with_memory run ${first.slice(-8)}: succeeded`));
      assert.deepEqual((h.step(second, 'past').output as { read: string[] }).read, [summary1.node.id]);

      const summary2 = node(h.k, summaryNodeId(second))!;
      assert.deepEqual(summary2.incoming.map((l) => [l.from, l.type]), [[summary1.node.id, 'read_by']]);
      assert.deepEqual(summary2.outgoing.map((l) => l.type), ['wrote']);
      // Idempotent: learning again from the same session writes nothing.
      const events = eventCount(h.k);
      assert.equal(learnFromSession(h.k, second)!.nodeId, summary2.node.id);
      assert.equal(eventCount(h.k), events);
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test('a failed session is summarised with its error, a retried one refreshed in place, a cancelled one not at all', async () => {
    const h = await openLlm();
    try {
      const failing = `
name: flaky_job
version: 1.0.0
inputs:
  fail: { type: boolean, default: true }
steps:
  - { id: prepare, type: task, runner: transform, with: { value: ready } }
  - { id: work, type: task, runner: demo.fail, dependsOn: [prepare], with: { type: disk_full, message: "no space left on /var" } }
`;
      const id = h.start(failing);
      assert.equal((await finish(h, id)).status, 'failed');
      const s = node(h.k, summaryNodeId(id))!;
      assert.equal(s.node.title, `flaky_job run ${id.slice(-8)}: failed`);
      assert.deepEqual(s.node.tags, ['session', 'workflow:flaky_job', 'failed']);
      assert.match(s.node.body, /## Error\n\ndisk_full in step `work`: no space left on \/var/);
      assert.match(s.node.body, /- `prepare` \(transform\): succeeded — ready/);
      assert.match(s.node.body, /- `work` \(demo.fail\): failed — disk_full/);
      // A retry ends it again (failed again): the same node is updated, not duplicated.
      h.cmd('session.retry', { sessionId: id });
      assert.equal((await finish(h, id)).status, 'failed');
      assert.equal(Number(h.k.sql.value("SELECT count(*) FROM forest_nodes WHERE session_id = ?", [id])), 1);

      const waiting = h.start('name: long_wait\nversion: 1.0.0\nsteps:\n  - { id: nap, type: wait, duration: 1h }\n');
      await h.settle();
      h.cmd('session.cancel', { sessionId: waiting });
      assert.equal((await finish(h, waiting)).status, 'cancelled');
      assert.equal(node(h.k, summaryNodeId(waiting)), null, 'a cancelled session teaches nothing');
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });
});

test('learning also follows a terminal event that a command wrote, not this engine\'s flush', async () => {
  const h = await openLlm();
  try {
    const id = h.start('name: long_job\nversion: 1.0.0\nsteps:\n  - { id: nap, type: wait, duration: 1h }\n');
    await h.settle();
    const version = h.events(id).length; // the stream version
    h.k.systemBatch([{
      type: 'session.record', expectedVersion: version, idempotencyKey: randomUUID(), actor: 'engine',
      payload: { sessionId: id, events: [{ type: 'session.failed', payload: { error: { type: 'external', message: 'stopped by an operator elsewhere', retryable: false, details: {} } } }] },
    }]);
    await h.settle();
    assert.equal(h.get(id).status, 'failed');
    const s = node(h.k, summaryNodeId(id))!;
    assert.match(s.node.body, /external: stopped by an operator elsewhere/);
    assert.deepEqual(h.errors, []);
  } finally {
    await h.close();
  }
});

function header(source: string, key: string): string[] {
  return [...source.matchAll(new RegExp(`^# ${key}: (.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

describe('use-case workflows run end to end against the fake OpenAI server', () => {
  for (const file of readdirSync(USECASES).filter((f) => f.endsWith('.yaml')).sort()) {
    test(file, async () => {
      const source = readFileSync(join(USECASES, file), 'utf8');
      const replies = header(source, 'reply').map((r) => ({ json: JSON.parse(r) as unknown }) satisfies FakeReply);
      const inputs = JSON.parse(header(source, 'inputs')[0]!) as Record<string, Json>;
      const expected = JSON.parse(header(source, 'output')[0]!) as Record<string, Json>;
      const approve = header(source, 'approve')[0];
      const writer = /id: (\w+)\n\s+type: task\n\s+runner: forest\.write/.exec(source)![1]!;
      const h = await openLlm();
      fake.reset();
      try {
        const titles: string[] = [];
        for (const run of [1, 2]) {
          const from = fake.count();
          fake.push(...replies);
          const id = h.start(source, inputs);
          const s = await finish(h, id, approve);
          assert.equal(s.status, header(source, 'expect')[0], `${file} run ${run}: ${JSON.stringify(s.error)}`);
          for (const [k, v] of Object.entries(expected)) assert.deepEqual((s.output as Record<string, Json>)[k], v, `output ${k}`);
          assert.equal(fake.count() - from, replies.length, 'one request per llm step');
          for (const r of fake.requests.slice(from)) assert.equal((r.body as { response_format?: { type: string } }).response_format?.type, 'json_schema');
          const written = (h.step(id, writer).output as { nodeId: string }).nodeId;
          const w = node(h.k, written)!;
          assert.equal(w.node.sessionId, id);
          assert.equal((s.output as { node: string }).node, written);
          const summary = node(h.k, summaryNodeId(id))!;
          assert.ok(summary.outgoing.some((l) => l.to === written && l.type === 'wrote'), 'the summary links what the run wrote');
          if (run === 2) {
            assert.ok(prompt(from).includes(titles[0]!), `run 2's first prompt recalls run 1's "${titles[0]}"`);
            assert.ok(summary.incoming.some((l) => l.type === 'read_by'), 'the summary links what the run read');
          }
          titles.push(w.node.title);
        }
        assert.deepEqual(h.errors, []);
      } finally {
        await h.close();
      }
    });
  }
});

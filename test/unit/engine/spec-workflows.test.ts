/**
 * The Kingdom spec's two example workflows run as written (issue 15, "The spec's own workflows as
 * written"): test/fixtures/workflows/spec/deploy_service.yaml and deploy_microservice.yaml saved
 * verbatim, their runners resolved to Tools applied from manifests (tool-deploy.yaml pointed at a
 * real HTTP server on 127.0.0.1 that records each request; tool-notify.yaml verbatim), and their
 * llm steps answered by the fake OpenAI server (the real wire).
 *
 * - safe: validate → decide (then) → deploy (POST /deploy with the parameters and the workspace's
 *   secret) → capture_result; the spec's onComplete webhook (https://slack.com/api/webhook) goes,
 *   through the real http runner, to the local server (its fetch maps slack.com there);
 * - unsafe: the condition's else branch (abort, the notify Tool) runs; nothing is deployed;
 * - deploy_microservice: build → test → deploy with `{{ env.GIT_SHA }}` from the start's env and
 *   the build's imageUri handed to the kubernetes Tool.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Engine } from '../../../worker/engine/engine.ts';
import { createHttpRunner } from '../../../worker/engine/runners/index.ts';
import { startFakeOpenAI, type FakeLlmServer } from '../../helpers/fake-openai.ts';
import { startRecordServer, type RecordServer } from '../../helpers/record-server.ts';
import { Harness } from './sessions/helpers.ts';

const text = (path: string): string => readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
const DEPLOY_SERVICE = text('workflows/spec/deploy_service.yaml');
const DEPLOY_MICROSERVICE = text('workflows/spec/deploy_microservice.yaml');

let fake: FakeLlmServer;
let server: RecordServer;
before(async () => {
  fake = await startFakeOpenAI();
  server = await startRecordServer();
});
after(async () => {
  await fake.close();
  await server.close();
});

/** The real http runner whose fetch sends slack.com to the local server (nothing leaves this machine). */
const toLocal: typeof fetch = (input, init) => {
  const u = new URL(input instanceof Request ? input.url : String(input));
  return fetch(u.hostname === 'slack.com' ? `${server.url}/slack${u.pathname}` : u.href, init);
};

async function open(): Promise<Harness> {
  const h = await Harness.open();
  h.engine.stop();
  h.engine = Engine.start(h.k, { clock: h.clock, runners: [createHttpRunner({ fetch: toLocal })], onError: (e) => h.errors.push(e) });
  h.cmd('llm.provider.set', { id: 'fake', kind: 'openai', baseUrl: `${fake.url}/v1`, models: ['claude-sonnet-4', 'claude-haiku-4'] });
  h.cmd('secret.set', { name: 'DEPLOY_TOKEN', value: 'tok-deploy-123' });
  h.cmd('manifest.apply', { source: text('manifests/tool-deploy.yaml').replace('http://127.0.0.1:8787', server.url) });
  h.cmd('manifest.apply', { source: text('manifests/tool-notify.yaml') });
  return h;
}

const INPUTS = { service: 'api', version: '1.4.2', environment: 'staging' };

describe('deploy_service as written', () => {
  test('safe: the deploy Tool receives the parameters, the summary runs, the webhook is sent', async () => {
    const h = await open();
    try {
      h.cmd('workflow.save', { source: DEPLOY_SERVICE });
      fake.reset();
      fake.push({ json: { safe: true, warnings: [], recommendations: ['watch the error rate'] } }, { json: { title: 'Deployed api 1.4.2', body: 'to staging', tags: ['deploy'] } });
      const before = server.to('/deploy').length;
      const id = (h.cmd('session.start', { workflow: 'deploy_service', inputs: INPUTS }) as { sessionId: string }).sessionId;
      const s = await h.ended(id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error ?? s.steps.filter((x) => x.error)));
      assert.deepEqual(s.steps.filter((x) => ['validate', 'decide', 'deploy', 'abort', 'capture_result'].includes(x.key)).map((x) => `${x.key}:${x.status}`).sort(),
        ['abort:skipped', 'capture_result:succeeded', 'decide:succeeded', 'deploy:succeeded', 'validate:succeeded']);
      const deploys = server.to('/deploy').slice(before);
      assert.equal(deploys.length, 1, 'one deploy request');
      assert.equal(deploys[0]!.method, 'POST');
      assert.deepEqual(deploys[0]!.body, INPUTS, 'the Tool sent its parameters (the step\'s vars)');
      assert.equal(deploys[0]!.headers['authorization'], 'Bearer tok-deploy-123', "the workspace's secret in the Tool's header");
      assert.equal(deploys[0]!.headers['idempotency-key'], `${id}/deploy/1`, 'through the http runner (its idempotency key)');
      const deploy = h.step(id, 'deploy');
      assert.equal((deploy.output as { status: number }).status, 200, 'output like the http runner\'s');
      assert.equal(JSON.stringify(h.payloads(id, 'step.started')).includes('tok-deploy-123'), false, 'the secret is not recorded');
      const [validateCall, summaryCall] = fake.requests;
      assert.equal(validateCall!.body.model, 'claude-sonnet-4');
      assert.match(JSON.stringify(validateCall!.body.messages), /Service: api/, 'the bare {{service}} read the input');
      assert.equal(summaryCall!.body.model, 'claude-haiku-4');
      assert.match(JSON.stringify(summaryCall!.body.messages), /received/, 'the summary saw the deploy output');
      const hooks = server.requests.filter((r) => r.path === '/slack/api/webhook');
      assert.equal(hooks.length, 1, 'the onComplete webhook');
      assert.deepEqual(hooks[0]!.body, { text: 'Deployment completed: api v1.4.2' });
      const started = h.payloads<{ pinned?: { kind: string; name: string; version: string }[] }>(id, 'session.started')[0]!;
      assert.deepEqual(started.pinned?.map((p) => `${p.kind}/${p.name}@${p.version}`), ['Tool/runner.deploy@1.0.0', 'Tool/runner.notify@1.2.0'], 'both Tools pinned at start');
      assert.deepEqual(h.errors, []);
    } finally {
      await h.close();
    }
  });

  test("unsafe: the condition's else branch runs the notify Tool and nothing is deployed", async () => {
    const h = await open();
    try {
      h.cmd('workflow.save', { source: DEPLOY_SERVICE });
      fake.reset();
      fake.push({ json: { safe: false, warnings: ['a migration is pending'], recommendations: [] } });
      const before = server.to('/deploy').length;
      const id = (h.cmd('session.start', { workflow: 'deploy_service', inputs: { ...INPUTS, environment: 'prod' } }) as { sessionId: string }).sessionId;
      const s = await h.ended(id);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error));
      assert.equal(h.step(id, 'decide').status, 'succeeded');
      assert.equal(h.step(id, 'deploy').status, 'skipped');
      assert.equal(h.step(id, 'capture_result').status, 'skipped', 'it depends on deploy');
      const abort = h.step(id, 'abort');
      assert.equal(abort.status, 'succeeded');
      assert.deepEqual(abort.output, { notified: true, message: 'Deployment aborted: ["a migration is pending"]' }, "the transform Tool's expression over params");
      assert.equal(server.to('/deploy').length, before, 'nothing deployed');
      assert.equal(fake.count(), 1, 'no summary');
    } finally {
      await h.close();
    }
  });
});

const tool = (name: string, body: string): string => `kind: Tool\nname: ${name}\nversion: 1.0.0\n${body}`;
const MICRO_TOOLS = [
  tool('runner.docker', 'runner: transform\nparameters:\n  dockerfile: { type: string, required: true }\n  tag: { type: string, required: true }\ntransform:\n  expression: "{ imageUri: \'registry.local/\' + params.tag, dockerfile: params.dockerfile }"\n'),
  tool('runner.pytest', `runner: http\nparameters:\n  tests: { type: string, required: true }\nhttp:\n  url: "${'{{'}params.url}}/pytest"\n  body: { tests: "{{params.tests}}" }\n`),
  tool('runner.kubernetes', 'runner: http\nparameters:\n  manifest: { type: string, required: true }\n  image: { type: string, required: true }\nhttp:\n  url: "URL/kubernetes"\n  body: { manifest: "{{params.manifest}}", image: "{{params.image}}" }\n'),
];

describe('deploy_microservice as written', () => {
  test('build → test → deploy with env.GIT_SHA and the build\'s imageUri', async () => {
    const h = await open();
    try {
      const pytest = MICRO_TOOLS[1]!.replace('parameters:\n', `parameters:\n  url: { type: string, default: "${server.url}" }\n`);
      for (const t of [MICRO_TOOLS[0]!, pytest, MICRO_TOOLS[2]!.replace('URL', server.url)]) h.cmd('manifest.apply', { source: t });
      h.cmd('workflow.save', { source: DEPLOY_MICROSERVICE });
      const started = h.cmd('session.start', { workflow: 'deploy_microservice', inputs: { service: 'billing', environment: 'prod' }, env: { GIT_SHA: 'abc1234' } }) as { sessionId: string; warnings?: unknown[] };
      assert.equal(started.warnings, undefined, 'env.GIT_SHA is set: no warning');
      const s = await h.ended(started.sessionId);
      assert.equal(s.status, 'succeeded', JSON.stringify(s.error ?? s.steps.filter((x) => x.error)));
      assert.deepEqual(h.step(started.sessionId, 'build').output, { imageUri: 'registry.local/billing:abc1234', dockerfile: './services/billing/Dockerfile' });
      assert.deepEqual(server.to('/pytest').at(-1)?.body, { tests: './services/billing/tests' }, 'a parameter default (url) applied');
      assert.deepEqual(server.to('/kubernetes').at(-1)?.body, { manifest: './k8s/prod/billing.yaml', image: 'registry.local/billing:abc1234' });
    } finally {
      await h.close();
    }
  });

  test('without GIT_SHA in the env the start warns at its line and the tag reads it as empty', async () => {
    const h = await open();
    try {
      const pytest = MICRO_TOOLS[1]!.replace('parameters:\n', `parameters:\n  url: { type: string, default: "${server.url}" }\n`);
      for (const t of [MICRO_TOOLS[0]!, pytest, MICRO_TOOLS[2]!.replace('URL', server.url)]) h.cmd('manifest.apply', { source: t });
      const started = h.cmd('session.start', { source: DEPLOY_MICROSERVICE, inputs: { service: 'billing', environment: 'dev' } }) as { sessionId: string; warnings?: { line: number; code: string; message: string }[] };
      const line = DEPLOY_MICROSERVICE.split('\n').findIndex((l) => l.includes('env.GIT_SHA')) + 1;
      assert.deepEqual(started.warnings?.map((w) => [w.code, w.line]), [['env_unset', line]]);
      assert.match(started.warnings![0]!.message, /env\.GIT_SHA is not set/);
      const s = await h.ended(started.sessionId);
      assert.equal(s.status, 'succeeded');
      assert.equal((h.step(started.sessionId, 'build').output as { imageUri: string }).imageUri, 'registry.local/billing:');
    } finally {
      await h.close();
    }
  });
});

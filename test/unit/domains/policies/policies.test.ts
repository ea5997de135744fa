/**
 * The policies slice (worker/domains/policies/index.ts): policy.set replaces a workspace's policy
 * and is audited; bad input is refused per pattern with nothing changed; no policy is the open
 * one; policies are per workspace; the violation record is internal (forbidden through the API)
 * and audited; a rebuild gives the same tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KernelError } from '../../../../worker/kernel/errors.ts';
import { openKingdom } from '../../../../worker/node/index.ts';
import { memKernel, newKey, tableSha, type Kernel } from '../../../helpers/kernel.ts';
import { DEFAULT_WORKSPACE_ID } from '../../../../worker/domains/workspaces/scope.ts';
import { issueSentence } from '../../../../src/lib/words/fields.ts';

const POLICY = { hosts: { allow: ['*.example.com', '127.0.0.1:8080'], deny: ['evil.example.com'] }, runners: { allow: [], deny: ['demo.*'] } };

function set(k: Kernel, payload: unknown): unknown {
  return k.command({ type: 'policy.set', payload, idempotencyKey: newKey() }).value;
}

function refused(k: Kernel, payload: unknown): KernelError {
  try {
    set(k, payload);
  } catch (err) {
    assert.ok(err instanceof KernelError);
    return err;
  }
  assert.fail('the command was accepted');
}

test('a workspace without a policy has the open one', async () => {
  const k = await memKernel();
  try {
    assert.deepEqual(k.query('policy.get', {}), { workspaceId: DEFAULT_WORKSPACE_ID, hosts: { allow: [], deny: [] }, runners: { allow: [], deny: [] }, updatedAt: null });
    assert.deepEqual(k.query('policy.violations', {}), []);
  } finally {
    await k.close();
  }
});

test('policy.set replaces the whole policy and writes an audit entry per change', async () => {
  const k = await memKernel();
  try {
    set(k, POLICY);
    const got = k.query('policy.get', {}) as { hosts: unknown; runners: unknown; updatedAt: string | null };
    assert.deepEqual({ hosts: got.hosts, runners: got.runners }, POLICY);
    assert.ok(got.updatedAt);
    set(k, { hosts: { allow: [], deny: ['*.example.org'] }, runners: { allow: ['http'], deny: [] } });
    const again = k.query('policy.get', {}) as { hosts: unknown; runners: unknown };
    assert.deepEqual(again.hosts, { allow: [], deny: ['*.example.org'] });
    assert.deepEqual(again.runners, { allow: ['http'], deny: [] });
    const audit = (k.query('audit.list', { limit: 1000 }) as { action: string; eventSeq: number }[]).filter((a) => a.action.startsWith('policy.'));
    assert.deepEqual(audit.map((a) => a.action), ['policy.set', 'policy.set']);
    const ev = k.query('events.get', { seq: audit[0]!.eventSeq }) as { type: string; payload: { hosts: unknown } };
    assert.equal(ev.type, 'policy.set');
    assert.deepEqual(ev.payload.hosts, POLICY.hosts);
  } finally {
    await k.close();
  }
});

test('bad input is refused per pattern, at its path, and nothing changes', async () => {
  const k = await memKernel();
  try {
    set(k, POLICY);
    const head = k.status().headSeq;
    const digest = tableSha(k, 'policies');
    const e = refused(k, { hosts: { allow: ['https://api.example.com'], deny: ['ok.example.com', 'ok.example.com'] }, runners: { allow: ['HTTP'], deny: ['*'] } });
    assert.equal(e.code, 'invalid_payload');
    const issues = (e.details['issues'] as { path: string; message: string }[]).map((i) => `${i.path}: ${i.message}`);
    assert.deepEqual(issues, [
      'payload.hosts.allow.0: write the host alone, without https://; remove or correct the host pattern "https://api.example.com"',
      'payload.hosts.deny.1: it is listed twice; remove or correct the host pattern "ok.example.com"',
      'payload.runners.allow.0: runner names are lower case; remove or correct the runner pattern "HTTP"',
      'payload.runners.deny.0: a lone * is not a pattern; to stop every step, deny the runners one by one or by prefix (demo.*); remove or correct the runner pattern "*"',
    ]);
    // What the app says for them (src/lib/words/kernel-words.ts, per field).
    const said = (e.details['issues'] as { path: string; message: string; code: string }[]).map((i) => issueSentence(i, 'policy.set'));
    assert.equal(said[0], 'The allowed pattern is not in the right form (write the host alone, without https://). Correct it and try again.');
    assert.equal(said[1], 'The denied pattern is not in the right form (it is listed twice). Correct it and try again.');
    assert.equal(refused(k, { hosts: { allow: [] }, runners: { allow: [], deny: [] } }).code, 'invalid_payload', 'a missing list');
    assert.equal(refused(k, { ...POLICY, extra: true }).code, 'invalid_payload', 'an unknown field');
    assert.equal(refused(k, { ...POLICY, hosts: { allow: Array.from({ length: 201 }, (_, i) => `h${i}.example.com`), deny: [] } }).code, 'invalid_payload', 'too many patterns');
    assert.equal(refused(k, { ...POLICY, workspaceId: '11111111-1111-4111-8111-111111111111' }).code, 'not_found');
    assert.equal(k.status().headSeq, head, 'nothing was appended');
    assert.equal(tableSha(k, 'policies'), digest, 'the policy is unchanged');
  } finally {
    await k.close();
  }
});

test('policies are per workspace; an archived workspace cannot get one', async () => {
  const k = await memKernel();
  try {
    const b = (k.command({ type: 'workspace.create', payload: { name: 'B' }, idempotencyKey: newKey() }).value as { workspaceId: string }).workspaceId;
    set(k, { workspaceId: b, ...POLICY });
    assert.equal((k.query('policy.get', {}) as { updatedAt: unknown }).updatedAt, null, 'the default workspace keeps the open policy');
    assert.deepEqual((k.query('policy.get', { workspaceId: b }) as { runners: unknown }).runners, POLICY.runners);
    k.command({ type: 'workspace.archive', payload: { workspaceId: b }, idempotencyKey: newKey() });
    assert.equal(refused(k, { workspaceId: b, ...POLICY }).code, 'archived');
  } finally {
    await k.close();
  }
});

test('a violation is recorded only by the kernel itself, audited, and listed newest first', async () => {
  const api = await openKingdom();
  try {
    const v = { workspaceId: DEFAULT_WORKSPACE_ID, kind: 'host', target: 'evil.example.com', runner: 'http', list: 'deny', rule: 'evil.example.com', sessionId: 's1', stepKey: 'call', attempt: 1, message: 'The workspace policy does not allow calls to evil.example.com (denied by evil.example.com).' };
    const forged = await api.command({ type: 'policy.violation.record', payload: v, idempotencyKey: 'v1' } as never);
    assert.equal(forged.ok, false);
    if (!forged.ok) assert.equal(forged.error.code, 'forbidden');
  } finally {
    await api.close();
  }
  const k = await memKernel();
  try {
    const v = { workspaceId: DEFAULT_WORKSPACE_ID, kind: 'host', target: 'evil.example.com', runner: 'http', list: 'deny', rule: 'evil.example.com', sessionId: 's1', stepKey: 'call', attempt: 1, message: 'refused' };
    k.systemBatch([{ type: 'policy.violation.record', payload: v, idempotencyKey: 'v1', actor: 'engine' }]);
    k.systemBatch([{ type: 'policy.violation.record', payload: { ...v, kind: 'runner', target: 'demo.flaky', runner: 'demo.flaky', rule: 'demo.*', stepKey: 'flaky' }, idempotencyKey: 'v2', actor: 'engine' }]);
    k.systemBatch([{ type: 'policy.violation.record', payload: v, idempotencyKey: 'v1', actor: 'engine' }]); // a repeat records nothing
    const list = k.query('policy.violations', {}) as { target: string; rule: string; actor: string; stepKey: string }[];
    assert.deepEqual(list.map((x) => [x.target, x.rule, x.stepKey, x.actor]), [['demo.flaky', 'demo.*', 'flaky', 'engine'], ['evil.example.com', 'evil.example.com', 'call', 'engine']]);
    const audit = (k.query('audit.list', { limit: 1000 }) as { action: string }[]).filter((a) => a.action === 'policy.violation');
    assert.equal(audit.length, 2);
    const digest = tableSha(k, 'policy_violations');
    const policies = tableSha(k, 'policies');
    const report = k.rebuild(['policies']) as unknown as { before: unknown; after: unknown };
    assert.ok(report);
    assert.equal(tableSha(k, 'policy_violations'), digest);
    assert.equal(tableSha(k, 'policies'), policies);
  } finally {
    await k.close();
  }
});

test('policy.validate names every bad pattern of a draft and tries a URL and a runner against it, writing nothing', async () => {
  const k = await memKernel();
  try {
    const head = k.status().headSeq;
    const r = k.query('policy.validate', { hosts: { allow: [], deny: ['*.example.com', 'https://x.org', '*.example.com'] }, runners: { allow: [], deny: ['demo.*', 'Demo'] }, url: 'https://evil.example.com/x?k=1', runner: 'demo.sleep' }) as {
      problems: { list: string; index: number; problem: string }[]; url: { target: string; allowed: boolean; sentence: string | null }; runner: { allowed: boolean; sentence: string | null };
    };
    assert.deepEqual(r.problems.map((p) => [p.list, p.index, p.problem]), [
      ['hosts.deny', 1, 'write the host alone, without https://'], ['hosts.deny', 2, 'it is listed twice'], ['runners.deny', 1, 'runner names are lower case'],
    ]);
    assert.deepEqual(r.url, { target: 'evil.example.com', allowed: false, sentence: 'The workspace policy does not allow calls to evil.example.com (denied by *.example.com). Change the policy in Settings → Policies if this call is intended.' });
    assert.equal(r.runner.allowed, false);
    const fine = k.query('policy.validate', { hosts: { allow: [], deny: [] }, runners: { allow: [], deny: [] }, url: 'https://a.org' }) as { problems: unknown[]; url: { allowed: boolean } };
    assert.deepEqual(fine.problems, []);
    assert.equal(fine.url.allowed, true);
    assert.equal(k.status().headSeq, head);
  } finally {
    await k.close();
  }
});

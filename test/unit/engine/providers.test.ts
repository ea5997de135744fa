/**
 * LLM provider configuration: validated, audited, listed without keys; model → provider routing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openKernel } from '../../../worker/node/index.ts';
import { KernelError } from '../../../worker/kernel/errors.ts';
import { pickProvider, type ProviderConfig } from '../../../worker/domains/providers/index.ts';

test('a provider is set, listed with whether its key secret exists, replaced and deleted', async () => {
  const k = await openKernel();
  try {
    k.command({ type: 'llm.provider.set', payload: { id: 'openai', kind: 'openai', baseUrl: 'https://api.openai.com/v1', models: ['gpt-4o'], apiKeySecret: 'OPENAI_KEY' }, idempotencyKey: 'p1' });
    let list = k.query('llm.provider.list') as (ProviderConfig & { keySet: boolean })[];
    assert.deepEqual(list.map((p) => [p.id, p.keySet]), [['openai', false]]);
    k.command({ type: 'secret.set', payload: { name: 'OPENAI_KEY', value: 'sk-test-123456' }, idempotencyKey: 's1' });
    list = k.query('llm.provider.list') as (ProviderConfig & { keySet: boolean })[];
    assert.equal(list[0]!.keySet, true);
    k.command({ type: 'llm.provider.set', payload: { id: 'openai', kind: 'openai', baseUrl: 'http://127.0.0.1:11434/v1', models: ['llama3'] }, idempotencyKey: 'p2' });
    list = k.query('llm.provider.list') as (ProviderConfig & { keySet: boolean })[];
    assert.deepEqual(list[0]!.models, ['llama3']);
    assert.equal(k.sql.value("SELECT count(*) FROM events WHERE instr(payload, 'sk-test-123456') > 0"), 0, 'the key never reaches the log');
    assert.ok(k.auditEntries().some((a) => a.action === 'llm.provider.set'), 'audited');
    k.command({ type: 'llm.provider.delete', payload: { id: 'openai' }, idempotencyKey: 'p3' });
    assert.deepEqual(k.query('llm.provider.list'), []);
    assert.throws(() => k.command({ type: 'llm.provider.delete', payload: { id: 'openai' }, idempotencyKey: 'p4' }), (e: unknown) => e instanceof KernelError && e.code === 'not_found');
  } finally {
    await k.close();
  }
});

test('bad configurations are refused with invalid_payload and append nothing', async () => {
  const k = await openKernel();
  try {
    const head = k.status().headSeq;
    for (const payload of [
      { id: 'Bad Id', kind: 'openai', baseUrl: 'https://x.example', models: ['m'] },
      { id: 'x', kind: 'gemini', baseUrl: 'https://x.example', models: ['m'] },
      { id: 'x', kind: 'openai', baseUrl: 'ftp://x.example', models: ['m'] },
      { id: 'x', kind: 'openai', baseUrl: 'https://x.example', models: [] },
      { id: 'x', kind: 'openai', baseUrl: 'https://x.example', models: ['m'], apiKey: 'sk-inline' },
    ]) {
      assert.throws(() => k.command({ type: 'llm.provider.set', payload, idempotencyKey: `bad-${JSON.stringify(payload)}` }), (e: unknown) => e instanceof KernelError && e.code === 'invalid_payload', JSON.stringify(payload));
    }
    assert.equal(k.status().headSeq, head);
  } finally {
    await k.close();
  }
});

test('provider/model names its provider; a bare model goes to the first provider listing it', () => {
  const ps: ProviderConfig[] = [
    { id: 'anthropic', kind: 'anthropic', baseUrl: 'https://api.anthropic.com', models: ['claude-sonnet-4'] },
    { id: 'ollama', kind: 'openai', baseUrl: 'http://localhost:11434/v1', models: ['llama3', 'qwen'] },
  ];
  assert.deepEqual(pickProvider(ps, 'ollama/qwen')?.provider.id, 'ollama');
  assert.equal(pickProvider(ps, 'ollama/qwen')?.model, 'qwen');
  assert.equal(pickProvider(ps, 'claude-sonnet-4')?.provider.id, 'anthropic');
  assert.equal(pickProvider(ps, 'ollama/anything')?.model, 'anything', 'an explicit provider may serve a model it does not list');
  assert.equal(pickProvider(ps, 'gpt-4o'), undefined);
});

/**
 * Errors in words (src/lib/words/): every code of the kernel's registry maps to a sentence a person
 * understands — no snake_case code, no `payload.` path, ending with what to do — and schema issues
 * of real commands become sentences about the field ("The name is empty. Type a name and try again.").
 * The issues come from a real kernel (zod schemas, the kernel's own messages), not from copies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ERROR_CODES, type ErrorCode, type KernelErrorData } from '../../../worker/kernel/errors.ts';
import { openKingdom } from '../../../worker/node/index.ts';
import { CODE_WORDS, codeSentence, kernelSentence, plainKernelText } from '../../../src/lib/words/kernel-words.ts';
import { ACTION_VERBS, hasAction, isPlain } from '../../../src/lib/words/plain.ts';
import { issueSentence } from '../../../src/lib/words/fields.ts';
import { fromKernel } from '../../../src/lib/ui-error.ts';

const SNAKE = /\b[a-z][a-z0-9]*_[a-z0-9_]+\b/;

function assertReadable(s: string, what: string): void {
  assert.doesNotMatch(s, SNAKE, `${what}: no snake_case code in “${s}”`);
  assert.doesNotMatch(s, /\bpayload\.|\bparams\./, `${what}: no payload path in “${s}”`);
  assert.ok(hasAction(s), `${what}: ends with what to do: “${s}”`);
  assert.match(s, /[.!]$/, `${what}: a full sentence: “${s}”`);
}

test('every code in the registry has words, and nothing else does', () => {
  assert.deepEqual(Object.keys(CODE_WORDS).sort(), Object.keys(ERROR_CODES).sort());
});

test('every registry code maps to a plain sentence that ends with an action', () => {
  const verbs = new Set<string>(ACTION_VERBS);
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const w = CODE_WORDS[code];
    assert.ok(verbs.has(w.action.split(/\W/)[0]!), `${code}: the action starts with a verb: “${w.action}”`);
    const s = codeSentence(code);
    assert.ok(s.endsWith(w.action), code);
    assertReadable(s, code);
    // Whatever the kernel says, the sentence shown stays readable.
    const technical: KernelErrorData = { name: 'KernelError', code, message: `some.command: payload.some_field: ${code} happened`, details: {} };
    assertReadable(kernelSentence(technical), `${code} with a technical message`);
    assertReadable(fromKernel('scope', technical).message, `${code} through fromKernel`);
  }
});

test('the kernel message is reused when plain, with an action added when it names none', () => {
  assert.equal(plainKernelText('payload.to: a node cannot link to itself; pick another target.'), 'A node cannot link to itself; pick another target.');
  assert.equal(plainKernelText('workspace.create: payload.name: must not be empty'), 'Must not be empty.');
  assert.equal(plainKernelText('agent: step_failed in payload.x'), null);
  const nf = kernelSentence({ code: 'not_found', message: 'There is no session 0190-ab.', details: {} });
  assert.equal(nf, 'There is no session 0190-ab. Reload the list and pick it again.');
  const dup = kernelSentence({ code: 'already_exists', message: 'payload.name: an active workspace is already named "a"; choose another name.', details: {} });
  assert.equal(dup, 'An active workspace is already named "a"; choose another name.');
});

/** Send one command to a real kernel and return its failure. */
async function failure(type: string, payload: unknown): Promise<KernelErrorData> {
  const api = await openKingdom({ storage: 'memory' });
  try {
    const r = await api.command({ type, payload, idempotencyKey: randomUUID() });
    assert.equal(r.ok, false, `${type} was expected to fail`);
    return (r as { ok: false; error: KernelErrorData }).error;
  } finally {
    await api.close();
  }
}

test('invalid_payload from real commands: a sentence about the field', async () => {
  const cases: [string, unknown, string][] = [
    ['workspace.create', { name: '' }, 'The name is empty. Type a name and try again.'],
    ['workspace.create', { name: 'x'.repeat(130) }, 'The name is too long (at most 120 characters). Shorten it and try again.'],
    ['workspace.create', {}, 'The name is missing. Fill it in and try again.'],
    ['workspace.create', { name: 'a', colour: 'red' }, 'The app sent a field the kernel does not know (colour), so nothing changed. Reload the page and try again.'],
    ['project.create', { workspaceId: '00000000-0000-4000-8000-000000000000', name: 3 }, 'The project name has the wrong kind of value (it should be text). Correct it and try again.'],
    ['llm.provider.set', { id: 'fake', kind: 'openai', baseUrl: 'http://127.0.0.1:1/v1', models: [] }, 'The model list is empty. Add at least one model and try again.'],
    ['llm.provider.set', { id: 'fake', kind: 'gemini', baseUrl: 'http://127.0.0.1:1/v1', models: ['m'] }, 'The kind of provider must be one of: openai, anthropic. Pick one of them and try again.'],
    ['llm.provider.set', { id: 'fake', kind: 'openai', baseUrl: 'ftp://x', models: ['m'] }, 'The base URL is not a valid address (the base URL must be http(s)). Enter a full address such as https://api.example.com/v1 and try again.'],
    ['forest.node.create', { title: 'Ok', body: '', tags: ['t'.repeat(70)] }, 'The tag is too long (at most 64 characters). Shorten it and try again.'],
    ['secret.set', { name: 'API_KEY', value: '' }, 'The secret value is empty. Type a secret value and try again.'],
  ];
  for (const [type, payload, expected] of cases) {
    const e = await failure(type, payload);
    assert.equal(e.code, 'invalid_payload', `${type} ${JSON.stringify(payload)}`);
    const s = kernelSentence(e);
    assert.equal(s, expected, `${type} ${JSON.stringify(payload)}: kernel said “${e.message}”`);
    assertReadable(s, type);
    const ui = fromKernel('x', e);
    assert.equal(ui.command, type, 'the command is kept for the details');
    assert.equal(ui.detail, e.message, 'the kernel message is kept for the details');
  }
});

test('the provider id, secret names and cron expressions get their own words', () => {
  assert.equal(issueSentence({ path: 'payload.id', code: 'invalid_format', message: 'a provider id is lower-case letters, digits, _ and -, starting with a letter (e.g. openai, ollama)' }, 'llm.provider.set'),
    'The provider id is not in the right form (a provider id is lower-case letters, digits, _ and -, starting with a letter (e.g. openai, ollama)). Correct it and try again.');
  assert.equal(issueSentence({ path: 'payload.cron', code: 'custom', message: 'minute 61 is out of range 0–59' }, 'trigger.set'),
    'The cron expression is not valid: minute 61 is out of range 0–59. Write five fields — minute, hour, day of month, month, weekday (for example 0 9 * * 1) — and try again.');
  assert.equal(issueSentence({ path: 'params.limit', code: 'too_small', message: 'Too small: expected number to be >=1' }, 'session.list'),
    'The number of rows must be at least 1. Enter a larger number and try again.');
  assert.equal(issueSentence({ path: 'payload', code: 'invalid_type', message: 'Invalid input: expected object, received string' }), 'What was sent is not in the expected form, so nothing changed. Reload the page and try again.');
});

test('invalid_inputs and invalid_workflow from a real kernel name the input and the line', async () => {
  const api = await openKingdom({ storage: 'memory' });
  try {
    const bad = await api.command({ type: 'workflow.save', payload: { source: 'name: x\nsteps: []' }, idempotencyKey: randomUUID() });
    assert.equal(bad.ok, false);
    const wf = kernelSentence((bad as { ok: false; error: KernelErrorData }).error);
    assert.equal(wf, 'The workflow has 2 problems; the first is on line 1: missing required key "version"; add version: … Fix them in the editor and try again.');
    const source = 'name: hello\nversion: 1.0.0\ninputs:\n  who: { type: string, required: true }\nsteps:\n  - { id: a, type: task, runner: transform, with: { value: 1 } }';
    assert.ok((await api.command({ type: 'workflow.save', payload: { source }, idempotencyKey: randomUUID() })).ok);
    const run = await api.command({ type: 'session.start', payload: { workflow: 'hello', inputs: {} }, idempotencyKey: randomUUID() });
    assert.equal(run.ok, false);
    const e = (run as { ok: false; error: KernelErrorData }).error;
    assert.equal(e.code, 'invalid_inputs');
    assert.equal(kernelSentence(e), 'The input “who” is required. Fill it in and start again.');
    const none = await api.command({ type: 'session.start', payload: { workflow: 'nope', inputs: {} }, idempotencyKey: randomUUID() });
    const nf = kernelSentence((none as { ok: false; error: KernelErrorData }).error);
    assertReadable(nf, 'not_found');
  } finally {
    await api.close();
  }
});

test('isPlain lets addresses and abbreviations through, not codes or paths', () => {
  assert.equal(isPlain('A relay address starts with ws:// or wss:// (for example wss://relay.example.com/sync).'), true);
  assert.equal(isPlain('lower-case letters (e.g. openai, ollama)'), true);
  assert.equal(isPlain('payload.name: must not be empty'), false);
  assert.equal(isPlain('invalid_output after 3 turns'), false);
  assert.equal(isPlain('workspace.create failed'), false);
});

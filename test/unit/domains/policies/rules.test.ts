/**
 * The policy rules (worker/domains/policies/rules.ts): what a host or runner pattern means, deny
 * winning over allow, the empty and non-empty allow list, and the problems a bad pattern is
 * refused with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHost, checkRunner, deniedSentence, displayHost, hostPatternProblem, listProblems, OPEN_POLICY, runnerPatternProblem, type Policy } from '../../../../worker/domains/policies/rules.ts';

const hosts = (allow: string[], deny: string[] = []): Policy => ({ hosts: { allow, deny }, runners: { allow: [], deny: [] } });
const runners = (allow: string[], deny: string[] = []): Policy => ({ hosts: { allow: [], deny: [] }, runners: { allow, deny } });
const ok = (v: { ok: boolean }): boolean => v.ok;

test('no policy allows every host and every runner', () => {
  assert.ok(ok(checkHost(OPEN_POLICY, 'https://anything.example/x')));
  assert.ok(ok(checkRunner(OPEN_POLICY, 'demo.flaky')));
});

test('an exact host matches that host on any port, and no other host', () => {
  const p = hosts([], ['evil.example.com']);
  assert.deepEqual(checkHost(p, 'https://evil.example.com/a?b'), { ok: false, list: 'deny', rule: 'evil.example.com' });
  assert.equal(ok(checkHost(p, 'http://evil.example.com:8080/')), false);
  assert.equal(ok(checkHost(p, 'https://EVIL.Example.COM/')), false, 'case does not matter');
  assert.equal(ok(checkHost(p, 'https://evil.example.com./')), false, 'a trailing dot does not slip past');
  assert.equal(ok(checkHost(p, 'https://user@evil.example.com/')), false, 'credentials do not hide the host');
  assert.ok(ok(checkHost(p, 'https://example.com/')));
  assert.ok(ok(checkHost(p, 'https://a.evil.example.com/')), 'an exact pattern is not a wildcard');
  assert.ok(ok(checkHost(p, 'https://evil.example.com.attacker.net/')));
});

test('*.example.com matches subdomains at any depth but not example.com itself', () => {
  const p = hosts([], ['*.example.com']);
  assert.deepEqual(checkHost(p, 'https://evil.example.com/'), { ok: false, list: 'deny', rule: '*.example.com' });
  assert.equal(ok(checkHost(p, 'https://a.b.example.com/')), false);
  assert.ok(ok(checkHost(p, 'https://example.com/')));
  assert.ok(ok(checkHost(p, 'https://notexample.com/')), 'a suffix is matched on a label boundary');
});

test('a port limits a pattern to that port; a URL without one has its scheme default', () => {
  const p = hosts([], ['127.0.0.1:8080', 'api.example.com:443']);
  assert.equal(ok(checkHost(p, 'http://127.0.0.1:8080/x')), false);
  assert.ok(ok(checkHost(p, 'http://127.0.0.1:8081/x')));
  assert.equal(ok(checkHost(p, 'https://api.example.com/')), false, 'https without a port is 443');
  assert.ok(ok(checkHost(p, 'http://api.example.com/')), 'http without a port is 80');
  assert.equal(ok(checkHost(hosts([], ['*.example.com:8443']), 'https://a.example.com:8443/')), false);
  assert.ok(ok(checkHost(hosts([], ['*.example.com:8443']), 'https://a.example.com/')));
});

test('IP addresses match in every spelling the URL parser accepts; IPv6 in brackets', () => {
  const p = hosts([], ['127.0.0.1']);
  for (const u of ['http://127.0.0.1/', 'http://127.1/', 'http://0x7f.0.0.1/', 'http://2130706433/']) assert.equal(ok(checkHost(p, u)), false, u);
  assert.equal(ok(checkHost(hosts([], ['[::1]:9000']), 'http://[0:0::1]:9000/')), false);
  assert.ok(ok(checkHost(hosts([], ['[::1]:9000']), 'http://[::1]:9001/')));
});

test('deny wins over allow; an empty allow list allows what is not denied; a non-empty one only itself', () => {
  const both = hosts(['*.example.com'], ['evil.example.com']);
  assert.deepEqual(checkHost(both, 'https://evil.example.com/'), { ok: false, list: 'deny', rule: 'evil.example.com' });
  assert.ok(ok(checkHost(both, 'https://good.example.com/')));
  assert.deepEqual(checkHost(both, 'https://other.org/'), { ok: false, list: 'allow', rule: null });
  assert.ok(ok(checkHost(hosts([], ['evil.example.com']), 'https://other.org/')));
});

test('runner patterns: exact names and prefix.*; deny wins; allow lists', () => {
  assert.deepEqual(checkRunner(runners([], ['demo.*']), 'demo.flaky'), { ok: false, list: 'deny', rule: 'demo.*' });
  assert.ok(ok(checkRunner(runners([], ['demo.*']), 'demo')), 'demo.* is the runners under demo., not demo');
  assert.ok(ok(checkRunner(runners([], ['demo.*']), 'demonstrate')));
  assert.ok(ok(checkRunner(runners([], ['http']), 'transform')));
  assert.equal(ok(checkRunner(runners([], ['http']), 'http')), false);
  assert.deepEqual(checkRunner(runners(['transform', 'forest.*']), 'http'), { ok: false, list: 'allow', rule: null });
  assert.ok(ok(checkRunner(runners(['transform', 'forest.*']), 'forest.write')));
  assert.equal(ok(checkRunner(runners(['forest.*'], ['forest.write']), 'forest.write')), false);
});

test('bad host patterns are refused with a phrase that says what to write', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/], [' example.com', /spaces/], ['https://example.com', /without https:\/\//], ['example.com/path', /without a path/],
    ['*', /deny the http runner/], ['ex*ample.com', /at the start/], ['*.*.example.com', /at the start/], ['example.com:', /port after : is missing/],
    ['example.com:0', /1 to 65535/], ['example.com:70000', /1 to 65535/], ['example.com:http', /1 to 65535/], ['::1', /brackets/],
    ['*.127.0.0.1', /names, not IP/], ['exa mple.com', /without a path or spaces/], ['a'.repeat(300), /longer than/], [':8080', /host is missing/],
  ];
  for (const [p, re] of cases) assert.match(hostPatternProblem(p) ?? 'accepted', re, JSON.stringify(p));
  for (const p of ['example.com', '*.example.com', 'localhost:8080', '127.0.0.1', '[::1]:8080', 'bücher.example', 'xn--bcher-kva.example']) assert.equal(hostPatternProblem(p), null, p);
});

test('bad runner patterns are refused; repeats are named', () => {
  assert.match(runnerPatternProblem('*') ?? '', /lone \*/);
  assert.match(runnerPatternProblem('HTTP') ?? '', /lower case/);
  assert.match(runnerPatternProblem('demo*') ?? '', /end a prefix/);
  assert.match(runnerPatternProblem('demo.') ?? '', /runner name is/);
  assert.match(runnerPatternProblem('1http') ?? '', /runner name is/);
  assert.equal(runnerPatternProblem('demo.*'), null);
  assert.equal(runnerPatternProblem('runner.deploy'), null);
  assert.deepEqual(listProblems('host', ['a.com', 'https://b.com', 'A.com']).map((x) => [x.index, x.problem]), [[1, 'write the host alone, without https://'], [2, 'it is listed twice']]);
});

test('the refusal sentence names the target and the rule, then what to do', () => {
  assert.equal(deniedSentence('host', 'evil.example.com', { ok: false, list: 'deny', rule: '*.example.com' }),
    'The workspace policy does not allow calls to evil.example.com (denied by *.example.com). Change the policy in Settings → Policies if this call is intended.');
  assert.equal(deniedSentence('runner', 'http', { ok: false, list: 'allow', rule: null }),
    'The workspace policy does not allow the runner http (not in the allowed runners). Change the policy in Settings → Policies if this call is intended.');
  assert.equal(displayHost('http://127.0.0.1:4000/x?token=secret'), '127.0.0.1:4000');
  assert.equal(displayHost('https://Evil.Example.com./x'), 'evil.example.com');
});

test('a stored deny rule this version cannot read denies every call (fail closed), an unreadable allow rule allows nothing extra', () => {
  const unreadableDeny = hosts([], ['exa mple.com']);
  assert.deepEqual(checkHost(unreadableDeny, 'https://anything.example/'), { ok: false, list: 'deny', rule: 'exa mple.com' });
  const unreadableAllow = hosts(['exa mple.com']);
  assert.equal(ok(checkHost(unreadableAllow, 'https://anything.example/')), false, 'an allow list of only an unreadable rule allows nothing');
});

/**
 * A workspace file that was tampered with, or is not one, is refused before anything is written,
 * with a sentence that names the first broken item (decision 40, docs/workspace-file.md). Real
 * SQLite files through the Node VFS; the file comes from database A's "Acme" (test/helpers).
 *
 * Checked, each on the same importer, which must be unchanged afterwards (head, imports):
 * 1. An event edited (with and without its hash redone), deleted, the last one deleted, two
 *    swapped, one repeated, one replayed under a new id, one of another workspace slipped in.
 * 2. The manifest re-signed with another key; re-signed with another key claimed as the device's,
 *    where the device is known (its chain reached the importer).
 * 3. Self-consistent forgeries (a new key, a new list): an event of another workspace, a device
 *    event, an event that is not valid for its type — refused on content.
 * 4. Bad input: not JSON, truncated text or gzip, another format or version, too large, damaged
 *    fields, hostile strings, not a file at all; typed `invalid_file` with a reason.
 * 5. After all that, the genuine file imports.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { Kernel } from '../../../worker/kernel/kernel.ts';
import { hashEvent, type WireEvent } from '../../../worker/kernel/log/envelope.ts';
import { generateKeyPair, keyIdOf, publicKeyHexOf, sign } from '../../../worker/kernel/log/keys.ts';
import { LIMITS, manifestMessage, type WorkspaceFile } from '../../../worker/kernel/workspace-file/format.ts';
import { Harness } from '../engine/sessions/helpers.ts';
import { acme, type AcmeFixture } from '../../helpers/workspace-file.ts';
import { removeDir, tempDir } from '../../helpers/kernel.ts';

type File = { -readonly [K in keyof WorkspaceFile]: WorkspaceFile[K] extends readonly (infer T)[] ? T[] : WorkspaceFile[K] } & { manifest: WorkspaceFile['manifest'] & { events: [string, string][] } };

const clone = (f: WorkspaceFile): File => JSON.parse(JSON.stringify(f)) as File;
const rehash = (e: WireEvent): WireEvent => ({ ...e, hash: hashEvent((({ hash: _h, ...rest }) => rest)(e)) });

/** `f` with its list redone from its events and signed with a new key (a self-consistent forgery). */
async function forge(f: File, keepClaimedKey = false): Promise<File> {
  const pair = await generateKeyPair(false);
  const publicKey = await publicKeyHexOf(pair.publicKey);
  if (!keepClaimedKey) f.manifest.exporter = { ...f.manifest.exporter, publicKey, keyId: keyIdOf(publicKey) };
  f.manifest.events = f.events.map((e) => [e.hash, e.type]);
  f.signature = await sign(pair.privateKey, manifestMessage(f.manifest));
  return f;
}

describe('workspace file: tampered or bad input is refused, nothing written', () => {
  let dir: string;
  let a: AcmeFixture;
  let b: Harness;
  let genuine: File;
  let bytes: Uint8Array;
  let foreign: WireEvent;
  let k = 0;

  before(async () => {
    dir = tempDir('kingdom-wsfile-attacks-');
    a = await acme(dir);
    const out = await a.h.k.exportWorkspace({ id: a.ws, name: 'Acme' }, { gzip: false });
    bytes = out.bytes;
    genuine = JSON.parse(new TextDecoder().decode(bytes)) as File;
    k = genuine.events.findIndex((e) => e.type === 'step.succeeded');
    const row = a.h.k.sql.get("SELECT * FROM events WHERE type = 'session.started' AND stream = ?", [`session:${a.sessions.elsewhere}`])!;
    foreign = {
      id: String(row['id']), device: String(row['device']), deviceSeq: Number(row['device_seq']), hlc: String(row['hlc']), prev: String(row['prev']),
      stream: String(row['stream']), streamBase: Number(row['stream_base']), type: String(row['type']), v: Number(row['v']), at: String(row['at']),
      actor: String(row['actor']), payload: JSON.parse(String(row['payload'])), hash: String(row['hash']),
    };
    b = await Harness.open({ file: join(dir, 'b.sqlite') });
  });
  after(async () => {
    await a?.h.close();
    await b?.close();
    removeDir(dir);
  });

  /** Import `input` into `into`: refused with `code` (and a message matching `message`), nothing written. */
  async function refused(input: unknown, code: string, message: RegExp | string, into: Kernel = b.k): Promise<void> {
    const head = into.status().headSeq;
    const err = await into.importWorkspace(input).then(() => null, (e: unknown) => e as { code: string; message: string; details: { reason: string } });
    assert.ok(err, 'refused');
    assert.equal(err.code, code, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    assert.equal(into.status().headSeq, head, 'nothing written');
    assert.equal(Number(into.sql.value('SELECT count(*) FROM kernel_imports')), 0);
  }
  const json = (f: File) => JSON.stringify(f);

  test('an event edited after export is named, with or without its hash redone', async () => {
    const type = genuine.events[k]!.type;
    const edited = clone(genuine);
    edited.events[k] = { ...edited.events[k]!, payload: { ...(edited.events[k]!.payload as object), output: 'forged' } };
    const sentence = `Event ${k + 1} (${type}) was changed after export. The file cannot be trusted: ask for a new export.`;
    await refused(json(edited), 'file_not_verified', sentence);
    edited.events[k] = rehash(edited.events[k]!);
    await refused(json(edited), 'file_not_verified', sentence);
  });

  test('an event deleted, the last one deleted, two swapped, one repeated, one replayed under a new id', async () => {
    const del = clone(genuine);
    del.events.splice(k, 1);
    await refused(json(del), 'file_not_verified', `Event ${k + 1} (${genuine.events[k]!.type}) is missing from the file: it was removed after export. The file cannot be trusted: ask for a new export.`);
    const cut = clone(genuine);
    cut.events.pop();
    await refused(json(cut), 'file_not_verified', new RegExp(`^Event ${genuine.events.length} \\(.+\\) is missing from the file: it was removed or the file was cut short\\.`));
    const swap = clone(genuine);
    [swap.events[k], swap.events[k + 1]] = [swap.events[k + 1]!, swap.events[k]!];
    await refused(json(swap), 'file_not_verified', new RegExp(`^Event ${k + 1} \\(${genuine.events[k + 1]!.type}\\) is out of place: the exporter signed it as event ${k + 2}`));
    const dup = clone(genuine);
    dup.events.splice(k + 1, 0, dup.events[k]!);
    await refused(json(dup), 'file_not_verified', new RegExp(`^Event ${k + 2} \\(${genuine.events[k]!.type}\\) repeats event ${k + 1}: an event was copied or replayed`));
    const replay = clone(genuine);
    replay.events.push(rehash({ ...replay.events[k]!, id: '01900000-0000-7000-8000-000000000000' }));
    await refused(json(replay), 'file_not_verified', new RegExp(`^Event ${genuine.events.length + 1} \\(${genuine.events[k]!.type}\\) is not one the exporter signed: it was added after export`));
  });

  test('an event of another workspace slipped in is not one the exporter signed', async () => {
    const slipped = clone(genuine);
    slipped.events.splice(3, 0, foreign);
    await refused(json(slipped), 'file_not_verified', /^Event 4 \(session\.started\) is not one the exporter signed: it was added after export\./);
  });

  test('the manifest re-signed with another key', async () => {
    const edited = clone(genuine);
    edited.manifest.workspace.name = 'Acme (real, trust me)';
    await refused(json(await forge(edited, true)), 'file_not_verified', /^The manifest's signature does not verify with the key of device dev-.+: the manifest was changed or re-signed after export\./);
    // Claiming a new key for a device the importer knows (its chain reached it by sync): refused.
    const c = await Harness.open();
    try {
      await c.k.ingest(a.h.k.exportChain(a.h.k.deviceId));
      await refused(json(await forge(clone(genuine))), 'file_not_verified', /is signed with key [0-9a-f]{16}, and this database knows that device by [0-9a-f]{16}: it was re-signed by someone else\./, c.k);
    } finally {
      await c.close();
    }
  });

  test('self-consistent forgeries are refused on content: another workspace, a device event, an invalid payload', async () => {
    const other = clone(genuine);
    other.events.splice(3, 0, foreign);
    await refused(json(await forge(other)), 'file_not_verified', /^Event 4 \(session\.started\) belongs to another workspace \(stream session:.+\), not to “Acme”\./);
    const device = clone(genuine);
    device.events.splice(2, 0, rehash({ ...foreign, id: '01900000-0000-7000-8000-00000000000d', stream: `device:${a.h.k.deviceId}`, type: 'device.revoked', v: 1, payload: { device: a.h.k.deviceId, reason: 'x' } }));
    await refused(json(await forge(device)), 'file_not_verified', /^Event 3 \(device\.revoked\) cannot be part of a workspace: a workspace file never carries it\./);
    const invalid = clone(genuine);
    invalid.events[k] = rehash({ ...invalid.events[k]!, payload: { step: 'x', attempt: 'one' } });
    await refused(json(await forge(invalid)), 'file_not_verified', new RegExp(`^Event ${k + 1} \\(step\\.succeeded\\) is not a valid step\\.succeeded: payload\\.`));
  });

  test('bad input gets a typed error and changes nothing', async () => {
    await refused('hello, world', 'invalid_file', /not complete JSON/);
    await refused(new TextEncoder().encode('[1, 2, 3]'), 'invalid_file', /^This is not a Kingdom workspace file: it is JSON, but not of format kingdom\.workspace\/1\.$/);
    const text = new TextDecoder().decode(bytes);
    await refused(text.slice(0, Math.floor(text.length / 2)), 'invalid_file', /not complete JSON \(it may be cut short/);
    await refused(gzipSync(bytes).subarray(0, 200), 'invalid_file', /looks compressed \(gzip\) but does not unpack/);
    await refused(JSON.stringify(a.h.k.exportLog()), 'invalid_file', /^This is a full log export \(kingdom\.log\/2\), not a workspace file\./);
    await refused(JSON.stringify({ ...genuine, format: 'kingdom.workspace/2' }), 'invalid_file', /format kingdom\.workspace\/2, which this version of Kingdom cannot read; update Kingdom/);
    await refused(new Uint8Array(LIMITS.fileBytes + 1), 'invalid_file', /^The file is 64\.0 MB; a workspace file can be at most 64\.0 MB\./);
    const damaged = clone(genuine);
    (damaged.events[5] as { hash: string }).hash = 'zz';
    await refused(json(damaged), 'invalid_file', /^This workspace file is damaged: Event 6 \(hash\): expected 64 lowercase hex characters\./);
    const hostile = clone(genuine);
    hostile.manifest.workspace.name = 'Acme\u0000<script>alert(1)</script>';
    await refused(json(hostile), 'invalid_file', /damaged: manifest\.workspace\.name: must not contain control characters/);
    const extra = JSON.parse(json(genuine)) as Record<string, unknown>;
    extra['__proto__'] = { polluted: true };
    await refused(JSON.stringify(extra).replace('"format"', '"__proto__":{"x":1},"format"'), 'invalid_file', /damaged/);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
    const proto = clone(genuine);
    proto.events[k] = { ...proto.events[k]!, payload: JSON.parse('{"__proto__":{"x":1}}') as never };
    await refused(json(proto), 'file_not_verified', /was changed after export/);
    await refused(42, 'invalid_file', /^Nothing that looks like a file was given/);
  });

  test('after all that, the genuine file imports (compressed too)', async () => {
    const r = await b.k.importWorkspace(gzipSync(bytes));
    assert.equal(r.alreadyImported, false);
    assert.equal(r.events, genuine.events.length);
    assert.equal((await b.k.verify()).ok, true);
  });
});

/**
 * Bytes of a workspace file: gzip with the platform's CompressionStream (browsers, Node ≥ 18), and
 * reading what a person hands in (bytes or text, compressed or not) within the documented limits.
 *
 * Invariants:
 * 1. Nothing is decompressed past LIMITS.jsonBytes: a gzip bomb stops at the limit, refused.
 * 2. Without CompressionStream a file is written uncompressed (the format allows both); without
 *    DecompressionStream a compressed file is refused with a sentence, never misread.
 */
import type { Json } from '../errors.ts';
import { invalidFile, LIMITS } from './format.ts';

const MB = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;

/** gzip `bytes`, or null where the platform cannot. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array | null> {
  if (typeof CompressionStream !== 'function') return null;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array, cap: number): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') {
    throw invalidFile('no_gzip', 'This file is compressed (gzip) and this browser cannot decompress it; ask for an uncompressed export, or open it in a current browser.');
  }
  const reader = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > cap) {
        await reader.cancel().catch(() => {});
        throw invalidFile('too_large', `The file unpacks to more than ${MB(cap)}; a workspace file can hold at most ${MB(cap)} of JSON. Ask for an export of a smaller workspace.`, { limit: cap });
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof Error && err.name === 'KernelError') throw err;
    throw invalidFile('bad_gzip', 'The file looks compressed (gzip) but does not unpack: it is damaged or cut short. Ask for a new export.');
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The JSON value of a workspace file given as bytes (Uint8Array, ArrayBuffer) or text. */
export async function parseFileInput(input: unknown): Promise<unknown> {
  let bytes: Uint8Array | null = null;
  let text: string | null = null;
  if (typeof input === 'string') text = input;
  else if (input instanceof Uint8Array) bytes = input;
  else if (input instanceof ArrayBuffer) bytes = new Uint8Array(input);
  else if (ArrayBuffer.isView(input)) bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  else throw invalidFile('not_a_file', 'Nothing that looks like a file was given: pass the file\'s bytes (Uint8Array or ArrayBuffer) or its text.');
  const size = bytes ? bytes.length : text!.length;
  if (size > LIMITS.fileBytes) {
    throw invalidFile('too_large', `The file is ${MB(size)}; a workspace file can be at most ${MB(LIMITS.fileBytes)}. Ask for an export of a smaller workspace.`, { size, limit: LIMITS.fileBytes });
  }
  if (bytes) {
    if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzip(bytes, LIMITS.jsonBytes);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw invalidFile('not_json', 'This is not a Kingdom workspace file: it is not text. Open the .kingdom-workspace.json file Kingdom exported.');
    }
  }
  try {
    return JSON.parse(text!) as Json;
  } catch {
    throw invalidFile('not_json', 'This is not a Kingdom workspace file: it is not complete JSON (it may be cut short, or another kind of file). Ask for a new export.');
  }
}

/**
 * A Server-Sent Events reader over a byte stream (the `text/event-stream` format).
 *
 * Invariants:
 * 1. Chunk boundaries do not matter: a line, a CRLF pair or a multi-byte UTF-8 character split
 *    across chunks is put back together (streaming TextDecoder, held-back trailing CR).
 * 2. Lines end with LF, CRLF or CR; `:` lines are comments; several `data:` lines of one event are
 *    joined with LF; one space after the colon is dropped; a blank line dispatches the event.
 * 3. An event left without its blank line at the end of the stream is still dispatched (lenient).
 * 4. Leaving the loop early (break, throw) cancels the underlying reader.
 */
export interface SseEvent {
  /** The `event:` field; `message` when absent. */
  readonly event: string;
  readonly data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      const events = parser.push(text, done);
      for (const e of events) yield e;
      if (done) break;
    }
    finished = true;
  } finally {
    if (!finished) reader.cancel().catch(() => {});
    try {
      reader.releaseLock();
    } catch {
      // a read still pending (cannot happen after a settled read): nothing to release
    }
  }
}

/** The line-level state machine, exposed for tests. Feed decoded text; `end` flushes. */
export class SseParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private hasData = false;

  push(text: string, end = false): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      // A CR at the very end may be the first half of a CRLF: wait for the next chunk.
      if (c === 13 && i === this.buffer.length - 1 && !end) break;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    if (end) {
      if (this.buffer !== '') this.line(this.buffer, out);
      this.buffer = '';
      this.dispatch(out);
    }
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === '') return this.dispatch(out);
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      this.data.push(value);
      this.hasData = true;
    } else if (field === 'event') {
      this.event = value;
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (this.hasData) out.push({ event: this.event === '' ? 'message' : this.event, data: this.data.join('\n') });
    this.event = '';
    this.data = [];
    this.hasData = false;
  }
}

/** Call `onToken` with each non-empty piece of text; a listener's failure is not the provider's. */
export function tokenEmitter(onToken: ((text: string) => void) | undefined): (text: string) => void {
  return (text) => {
    if (!onToken || text === '') return;
    try {
      onToken(text);
    } catch {
      // ignored on purpose
    }
  };
}

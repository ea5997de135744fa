/**
 * Reading a child process the crash tests drive: one JSON message per stdout line, stderr kept
 * for the failure message. A partial last line (the process died mid-write) is never delivered.
 */
import type { ChildProcess } from 'node:child_process';

export function watchChild<T>(child: ChildProcess, onMessage: (msg: T) => void, onStderr: (text: string) => void): void {
  let pending = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => onStderr(d));
  child.stdout!.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const text = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onMessage(JSON.parse(text) as T);
    }
  });
}

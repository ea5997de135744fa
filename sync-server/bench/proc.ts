/**
 * What the load checks share: what they read about a process (Linux /proc), latencies, and the
 * paced write loop (a steady total rate of chunk updates spread over the rooms).
 */
import { readFile } from 'node:fs/promises';
import { chunkBytes, type Client, sleep, waitFor } from '../test/helpers.ts';

export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

export async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (100 Hz)
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The latency figures of a run, in ms (one decimal). */
export function latencySummary(sorted: number[]): { p50: number; p95: number; p99: number; max: number } {
  const ms = (n: number): number => +n.toFixed(1);
  return { p50: ms(percentile(sorted, 50)), p95: ms(percentile(sorted, 95)), p99: ms(percentile(sorted, 99)), max: ms(sorted.at(-1) ?? 0) };
}

/**
 * Writes `round(rate × seconds)` chunks of `bytes` bytes at `rate` per second in all, round robin
 * over the rooms' writers, and waits until every reader observed its room's chunks. Returns the
 * latencies (writer set → reader observed), sorted, and the seconds it all took.
 */
export async function paceWrites(
  rooms: readonly { readonly writer: Client; readonly reader: Client }[],
  rate: number,
  seconds: number,
  bytes: number,
): Promise<{ total: number; elapsed: number; sorted: number[] }> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  for (const room of rooms) {
    room.reader.chunks.observe((event) => {
      const now = performance.now();
      for (const k of event.keysChanged) {
        const t = sentAt.get(k);
        if (t !== undefined) latencies.push(now - t);
      }
    });
  }
  const start = performance.now();
  const total = Math.round(rate * seconds);
  let sent = 0;
  while (sent < total) {
    const due = Math.floor(((performance.now() - start) / 1000) * rate);
    while (sent < Math.min(due, total)) {
      const room = rooms[sent % rooms.length];
      if (room === undefined) break;
      const k = `dev/${sent + 1}-${sent + 1}`;
      sentAt.set(k, performance.now());
      room.writer.chunks.set(k, chunkBytes(sent, bytes));
      sent++;
    }
    await sleep(5);
  }
  await waitFor(() => latencies.length >= total, 60_000, `${total} updates to arrive`);
  return { total, elapsed: (performance.now() - start) / 1000, sorted: [...latencies].sort((a, b) => a - b) };
}

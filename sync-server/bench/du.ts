/** Bytes of the regular files directly in `dir` (the relay's rooms directory is flat). */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export async function du(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

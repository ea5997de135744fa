/**
 * Hot reload of manifests from a folder (docs/manifests.md, "Hot reload"), the part with no
 * browser in it: which files changed since the last look, and one apply per changed file.
 *
 * A look (`syncOnce`) takes the folder's YAML files as entries (path, size, lastModified and a way
 * to read the text). A file whose size and lastModified are what they were is not read at all; a
 * file that is new or whose stamp moved is read and hashed (SHA-256 of its text), and applied
 * only when the hash differs from the last one applied or refused for that path (a touch that
 * changed nothing applies nothing). `walk` lists the entries of a FileSystemDirectoryHandle (a
 * folder picked with showDirectoryPicker, or an OPFS directory: the same interface).
 *
 * Invariants:
 * 1. Each changed file is exactly one `apply` call, in path order; the kernel then appends one
 *    event when the manifest changed and none when it did not.
 * 2. A refused (invalid) file is remembered by hash too: it is not sent again until it changes,
 *    and the last good version of its manifest stays active in the registry meanwhile.
 * 3. Bounded: at most MAX_FILES files, MAX_DEPTH folders deep, MAX_BYTES per file (a bigger one
 *    is reported, not read); hidden folders and node_modules are skipped.
 */

export const MAX_FILES = 500;
export const MAX_DEPTH = 8;
export const MAX_BYTES = 256 * 1024;
export const YAML_FILE = /\.ya?ml$/i;

export interface FileEntry {
  /** Path inside the folder, `/`-separated (`tools/deploy.yaml`). */
  readonly path: string;
  readonly size: number;
  readonly lastModified: number;
  read(): Promise<string>;
}

export interface Known {
  readonly size: number;
  readonly lastModified: number;
  readonly hash: string;
}

export type Outcome = 'applied' | 'unchanged' | 'refused' | 'failed' | 'skipped';

export interface ApplyAnswer {
  readonly outcome: Outcome;
  /** "Tool/runner.deploy@1.0.0", or the first issue, or why it failed. */
  readonly detail: string;
  /** Issues of a refused file, each at its line and column. */
  readonly issues?: readonly { readonly line: number; readonly column: number; readonly message: string }[];
}

export interface SyncReport {
  readonly path: string;
  readonly answer: ApplyAnswer;
}

/** What changed between the last look and these entries: the paths to read, and the paths gone. */
export function diffStamps(known: ReadonlyMap<string, Known>, entries: readonly Pick<FileEntry, 'path' | 'size' | 'lastModified'>[]): { read: string[]; gone: string[] } {
  const here = new Set(entries.map((e) => e.path));
  const read = entries.filter((e) => {
    const k = known.get(e.path);
    return k === undefined || k.size !== e.size || k.lastModified !== e.lastModified;
  }).map((e) => e.path).sort();
  const gone = [...known.keys()].filter((p) => !here.has(p)).sort();
  return { read, gone };
}

export async function sha256(text: string): Promise<string> {
  const bytes = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * One look at the folder: read what changed, apply each changed file once, and update `known`
 * (in place). Returns one report per file sent to `apply` or skipped, in path order.
 */
export async function syncOnce(known: Map<string, Known>, entries: readonly FileEntry[], apply: (path: string, text: string) => Promise<ApplyAnswer>): Promise<SyncReport[]> {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const { read, gone } = diffStamps(known, entries);
  for (const p of gone) known.delete(p);
  const out: SyncReport[] = [];
  for (const path of read) {
    const e = byPath.get(path)!;
    if (e.size > MAX_BYTES) {
      known.set(path, { size: e.size, lastModified: e.lastModified, hash: `too-big:${e.size}` });
      out.push({ path, answer: { outcome: 'skipped', detail: `${Math.round(e.size / 1024)} KiB is over the ${MAX_BYTES / 1024} KiB a manifest may have; it was not read.` } });
      continue;
    }
    let text: string;
    try {
      text = await e.read();
    } catch (err) {
      out.push({ path, answer: { outcome: 'failed', detail: `It could not be read (${err instanceof Error ? err.message : String(err)}); it is tried again at the next look.` } });
      continue;
    }
    const hash = await sha256(text);
    const before = known.get(path);
    known.set(path, { size: e.size, lastModified: e.lastModified, hash });
    if (before?.hash === hash) continue; // touched, not changed
    const answer = await apply(path, text);
    // A failure that is not about the file (the kernel busy, closed) is tried again next look.
    if (answer.outcome === 'failed') known.delete(path);
    out.push({ path, answer });
  }
  return out;
}

/** The smallest part of FileSystemDirectoryHandle that `walk` uses (OPFS and picked folders both have it). */
export interface DirectoryLike {
  readonly kind: 'directory';
  readonly name: string;
  values(): AsyncIterable<{ readonly kind: 'file' | 'directory'; readonly name: string }>;
}

/** Every YAML file under `dir` (bounded: invariant 3), as entries that read lazily. */
export async function walk(dir: DirectoryLike): Promise<{ entries: FileEntry[]; truncated: boolean }> {
  const entries: FileEntry[] = [];
  let truncated = false;
  const visit = async (d: DirectoryLike, prefix: string, depth: number): Promise<void> => {
    for await (const h of d.values()) {
      if (entries.length >= MAX_FILES) {
        truncated = true;
        return;
      }
      if (h.kind === 'directory') {
        if (depth < MAX_DEPTH && !h.name.startsWith('.') && h.name !== 'node_modules') await visit(h as unknown as DirectoryLike, `${prefix}${h.name}/`, depth + 1);
        else if (depth >= MAX_DEPTH) truncated = true;
      } else if (YAML_FILE.test(h.name)) {
        const file = await (h as unknown as FileSystemFileHandle).getFile();
        entries.push({ path: `${prefix}${h.name}`, size: file.size, lastModified: file.lastModified, read: () => file.text() });
      }
    }
  };
  await visit(dir, '', 0);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, truncated };
}

/** Entries from picked files (an `<input type=file multiple>` or a folder input: webkitRelativePath). */
export function fromFiles(files: Iterable<File>): FileEntry[] {
  return [...files].filter((f) => YAML_FILE.test(f.name)).slice(0, MAX_FILES).map((f) => ({
    path: f.webkitRelativePath || f.name, size: f.size, lastModified: f.lastModified, read: () => f.text(),
  })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

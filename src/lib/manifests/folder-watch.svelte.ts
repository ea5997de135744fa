/**
 * "Watch a folder" and "Upload manifests" (docs/manifests.md, "Hot reload"): the browser side of
 * folder-sync.ts. A folder picked with the File System Access API (showDirectoryPicker: Chromium
 * browsers) is looked at once a second — and at once when a FileSystemObserver, where the browser
 * has one, says something changed — and every changed YAML file is applied (origin `folder` and its
 * path). Elsewhere (Firefox, Safari, phones) picked files or a picked folder are applied once.
 *
 * Invariants:
 * 1. One watcher per tab (this module's instance), kept while the app is open once the Manifests
 *    screen started it; one look at a time (a look asked for during one runs right after).
 * 2. The picked folder's handle is remembered in IndexedDB (idb-keyval); after a reload it is
 *    watched again when the browser still grants read access, otherwise the screen offers to ask.
 * 3. The log keeps the newest LOG_LIMIT answers: applied, unchanged, refused (with issues at their
 *    lines), skipped and failed, each with its path.
 */
import { del, get, set } from 'idb-keyval';
import { applyManifest } from './apply.ts';
import { fromFiles, syncOnce, walk, type ApplyAnswer, type DirectoryLike, type Known } from './folder-sync.ts';

const HANDLE_KEY = 'kingdom.manifests.folder';
const POLL_MS = 1_000;
const LOG_LIMIT = 200;

export interface LogEntry extends ApplyAnswer {
  readonly id: number;
  readonly at: number;
  readonly via: 'folder' | 'upload';
  readonly path: string;
}

type PermissionMode = { mode: 'read' };
/** The parts of the File System Access API used here (not in every TypeScript DOM library yet). */
interface DirectoryHandle extends DirectoryLike {
  queryPermission?(d: PermissionMode): Promise<PermissionState>;
  requestPermission?(d: PermissionMode): Promise<PermissionState>;
}
type Picker = (o: { mode: 'read'; id?: string }) => Promise<DirectoryHandle>;
type ObserverCtor = new (cb: () => void) => { observe(h: DirectoryHandle, o: { recursive: boolean }): Promise<void>; disconnect(): void };

class FolderWatch {
  /** Whether this browser can pick a folder to watch (else: upload). */
  readonly supported = typeof window !== 'undefined' && typeof (window as unknown as { showDirectoryPicker?: Picker }).showDirectoryPicker === 'function';
  folder = $state.raw<string | null>(null);
  state = $state.raw<'off' | 'starting' | 'watching' | 'needs-permission'>('off');
  /** Whether a FileSystemObserver tells about changes (else only the once-a-second look). */
  observed = $state.raw(false);
  log = $state.raw<readonly LogEntry[]>([]);
  /** Files seen in the last look, and whether the bound cut the walk short. */
  files = $state.raw(0);
  truncated = $state.raw(false);
  problem = $state.raw('');

  #handle: DirectoryHandle | null = null;
  #known = new Map<string, Known>();
  #timer: ReturnType<typeof setInterval> | null = null;
  #observer: InstanceType<ObserverCtor> | null = null;
  #looking = false;
  #again = false;
  #restored = false;
  #seq = 0;

  /** After a reload: watch the remembered folder again when read access is still granted. */
  async restore(): Promise<void> {
    if (this.#restored || !this.supported) return;
    this.#restored = true;
    try {
      const handle = await get<DirectoryHandle>(HANDLE_KEY);
      if (!handle || this.#handle) return;
      this.folder = handle.name;
      const perm = (await handle.queryPermission?.({ mode: 'read' })) ?? 'granted';
      if (perm === 'granted') this.#start(handle);
      else {
        this.#handle = handle;
        this.state = 'needs-permission';
      }
    } catch {
      // No IndexedDB here, or the handle went stale: the screen simply offers to pick a folder.
    }
  }

  /** Ask for a folder (a click: the picker needs the person's gesture) and watch it. */
  async pick(): Promise<void> {
    this.problem = '';
    try {
      const handle = await (window as unknown as { showDirectoryPicker: Picker }).showDirectoryPicker({ mode: 'read', id: 'kingdom-manifests' });
      await set(HANDLE_KEY, handle).catch(() => {});
      this.#start(handle);
    } catch (err) {
      if (err instanceof DOMException && err.name === 'AbortError') return; // the person closed the picker
      this.problem = `The folder could not be opened (${err instanceof Error ? err.message : String(err)}); pick it again, or upload the files instead.`;
    }
  }

  /** Ask again for read access to the remembered folder (a click). */
  async resume(): Promise<void> {
    const handle = this.#handle;
    if (!handle) return;
    const perm = (await handle.requestPermission?.({ mode: 'read' }).catch(() => 'denied' as const)) ?? 'granted';
    if (perm === 'granted') this.#start(handle);
    else this.problem = 'The browser did not allow reading the folder; pick it again to watch it.';
  }

  /** Stop watching and forget the folder. */
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#observer?.disconnect();
    this.#observer = null;
    this.observed = false;
    this.#handle = null;
    this.#known.clear();
    this.folder = null;
    this.state = 'off';
    void del(HANDLE_KEY).catch(() => {});
  }

  /** Apply picked files once (the upload where no folder can be watched). */
  async upload(files: Iterable<File>): Promise<number> {
    const entries = fromFiles(files);
    const reports = await syncOnce(new Map(), entries, (path, text) => applyManifest(text, { via: 'upload', path }));
    this.#record('upload', reports);
    return reports.length;
  }

  /** Look at the folder now (the poll, the observer and the tests call this). */
  async look(): Promise<void> {
    const handle = this.#handle;
    if (!handle || this.state !== 'watching') return;
    if (this.#looking) {
      this.#again = true;
      return;
    }
    this.#looking = true;
    try {
      do {
        this.#again = false;
        const { entries, truncated } = await walk(handle);
        this.files = entries.length;
        this.truncated = truncated;
        const reports = await syncOnce(this.#known, entries, (path, text) => applyManifest(text, { via: 'folder', path }));
        this.#record('folder', reports);
        this.problem = '';
      } while (this.#again && this.#handle === handle);
    } catch (err) {
      this.problem = `The folder could not be read (${err instanceof Error ? err.message : String(err)}); it is tried again every second. Pick it again if it was moved.`;
    } finally {
      this.#looking = false;
    }
  }

  #start(handle: DirectoryHandle): void {
    this.#stopTimers();
    this.#handle = handle;
    this.#known.clear();
    this.folder = handle.name;
    this.state = 'watching';
    this.problem = '';
    void this.look();
    this.#timer = setInterval(() => void this.look(), POLL_MS);
    const Observer = (globalThis as { FileSystemObserver?: ObserverCtor }).FileSystemObserver;
    if (Observer) {
      try {
        const o = new Observer(() => void this.look());
        void o.observe(handle, { recursive: true }).then(() => (this.observed = true), () => (this.observed = false));
        this.#observer = o;
      } catch {
        this.observed = false;
      }
    }
  }

  #stopTimers(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#observer?.disconnect();
    this.#observer = null;
  }

  #record(via: 'folder' | 'upload', reports: readonly { path: string; answer: ApplyAnswer }[]): void {
    if (reports.length === 0) return;
    const at = Date.now();
    const added = reports.map((r) => ({ id: ++this.#seq, at, via, path: r.path, ...r.answer }));
    this.log = [...added.reverse(), ...this.log].slice(0, LOG_LIMIT);
  }
}

export const folderWatch = new FolderWatch();

/**
 * Code that loads on demand: a dynamic `import()` behind a handle that synchronous kernel code
 * (a command's `decide`, a query's `run`) uses once it is loaded. It keeps code that the first
 * screen does not need (the workflow parser and its YAML library, the Forest's Markdown) out of
 * the kernel worker's first chunk (docs/benchmarks.md, "Fast to open").
 *
 * A command or query names the parts it needs (`needs` in module.ts). Who loads them:
 * - `Kernel.open` loads every module's parts before it returns, unless `lazyCode` is set, so a
 *   caller that runs commands synchronously (Node, tests, the engine) never meets one unloaded;
 * - with `lazyCode` (the browser's leader), the API loads what a call needs before running it
 *   (`CodeIndex`, worker/api.ts), and the composition root loads all of them before it starts
 *   the engine (worker/root.ts).
 *
 * Invariants:
 * 1. `get()` never loads: it returns the module, or throws a KernelError naming the part (a bug:
 *    a caller skipped the load). Commands and queries call it before they write, so nothing changes.
 * 2. `load()` imports once; after a failed import the next call tries again.
 */
import { KernelError } from './errors.ts';

/** What CodeIndex reads of a kernel module (structural, so this file does not import module.ts, which imports it). */
interface NeedsOf {
  readonly commands?: readonly { readonly type: string; readonly needs?: readonly CodePart[] }[];
  readonly queries?: readonly { readonly name: string; readonly needs?: readonly CodePart[] }[];
}

export class CodePart<T = unknown> {
  #module: T | null = null;
  #loading: Promise<T> | null = null;

  constructor(readonly name: string, private readonly importer: () => Promise<T>) {}

  get loaded(): boolean {
    return this.#module !== null;
  }

  load(): Promise<T> {
    if (this.#module !== null) return Promise.resolve(this.#module);
    this.#loading ??= this.importer().then(
      (m) => (this.#module = m),
      (err: unknown) => {
        this.#loading = null;
        throw new KernelError('internal', `The ${this.name} could not be loaded: ${err instanceof Error ? err.message : String(err)}. Reload the page.`);
      },
    );
    return this.#loading;
  }

  get(): T {
    if (this.#module === null) throw new KernelError('internal', `The ${this.name} is not loaded yet (a caller skipped CodePart.load); nothing was changed. Retry.`);
    return this.#module;
  }
}

/** Which parts each command and query of some modules needs. */
export class CodeIndex {
  private readonly commands = new Map<string, readonly CodePart[]>();
  private readonly queries = new Map<string, readonly CodePart[]>();

  constructor(modules: readonly NeedsOf[]) {
    for (const m of modules) {
      for (const c of m.commands ?? []) if (c.needs?.length) this.commands.set(c.type, c.needs);
      for (const q of m.queries ?? []) if (q.needs?.length) this.queries.set(q.name, q.needs);
    }
  }

  /** Load what these commands need (anything malformed or unknown needs nothing here: the kernel refuses it). */
  async forCommands(cmds: unknown): Promise<void> {
    const list: unknown[] = Array.isArray(cmds) ? cmds : [];
    await loadParts(list.flatMap((c) => {
      const type = typeof c === 'object' && c !== null ? (c as { type?: unknown }).type : undefined;
      return typeof type === 'string' ? (this.commands.get(type) ?? []) : [];
    }));
  }

  async forQuery(name: unknown): Promise<void> {
    if (typeof name === 'string') await loadParts(this.queries.get(name) ?? []);
  }

  /** Every part any command or query needs. */
  async all(): Promise<void> {
    await loadParts([...this.commands.values(), ...this.queries.values()].flat());
  }
}

/** Load every part the modules' commands and queries need (Kernel.open without `lazyCode`). */
export function loadModuleCode(modules: readonly NeedsOf[]): Promise<void> {
  return new CodeIndex(modules).all();
}

async function loadParts(parts: readonly CodePart[]): Promise<void> {
  const missing = [...new Set(parts)].filter((p) => !p.loaded);
  if (missing.length > 0) await Promise.all(missing.map((p) => p.load()));
}


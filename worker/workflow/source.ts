/**
 * YAML text → plain data, refusing what would surprise or hurt, and mapping document paths back
 * to line/column.
 *
 * Invariants:
 * 1. Bounded work: at most MAX_SOURCE_BYTES of text, MAX_DEPTH levels of nesting (checked without
 *    recursion before anything recursive runs), aliases capped by yaml's `maxAliasCount` and the
 *    expanded data capped at MAX_VALUES values.
 * 2. Only core-schema data comes out: custom and YAML 1.1 tags, non-scalar or null/boolean keys,
 *    `__proto__` keys, lone surrogates, unknown or self-containing anchors are issues. Merge keys
 *    (`<<: *defaults`) are allowed.
 * 3. Never throws: every refusal is a `RawIssue`; the caller locates issues with `locate`.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';
import { indentProblem } from './indent.ts';
import { formatPath, type Path, type RawIssue } from './issues.ts';

export const MAX_SOURCE_BYTES = 256 * 1024;
export const MAX_DEPTH = 64;
export const MAX_ALIAS_COUNT = 100;
export const MAX_VALUES = 100_000;

export interface Source {
  readonly text: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
}

export type LoadResult =
  | { ok: true; value: unknown; source: Source; issues: RawIssue[] }
  | { ok: false; issues: RawIssue[]; source: Source | undefined };

/** Parse `text` as one YAML document and return its data, or the issues that stop it. */
export function loadYaml(text: string): LoadResult {
  // UTF-8 needs at least one byte per UTF-16 unit: very long text is refused without encoding it.
  const bytes = text.length > MAX_SOURCE_BYTES ? text.length : new TextEncoder().encode(text).length;
  if (bytes > MAX_SOURCE_BYTES) {
    return { ok: false, source: undefined, issues: [{ path: [], code: 'too_large', sourceOffset: 0, message: `the file is ${text.length > MAX_SOURCE_BYTES ? 'over ' : ''}${bytes} bytes; the limit is ${MAX_SOURCE_BYTES} (256 KiB) — split it into child workflows` }] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false, strict: true, merge: true, logLevel: 'error', resolveKnownTags: false, version: '1.2', schema: 'core' });
  const source: Source = { text, doc, lines };
  const syntax = syntaxIssues(source);
  if (syntax.length > 0) return { ok: false, source, issues: syntax };
  const structural = walk(source);
  if (structural.fatal.length > 0) return { ok: false, source, issues: structural.fatal };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof RangeError ? 'too_deep' : err instanceof ReferenceError ? 'alias_limit' : 'yaml_syntax';
    const at = code === 'alias_limit' ? structural.lastAlias : 0;
    const fix = code === 'too_deep' ? `nest at most ${MAX_DEPTH} levels`
      : code === 'alias_limit' ? `aliases may expand to at most ${MAX_ALIAS_COUNT} copies; write the data out or use fewer aliases`
        : 'check the YAML around here';
    return { ok: false, source, issues: [{ path: pathAt(source, at), code, sourceOffset: at, message: `${message}; ${fix}` }] };
  }
  const expanded = checkExpanded(value);
  if (expanded !== undefined) return { ok: false, source, issues: [expanded] };
  return { ok: true, value, source, issues: structural.other };
}

/** 1-based line and column for an issue: its node (or key), or the nearest existing parent. */
export function locate(source: Source | undefined, issue: RawIssue): { line: number; column: number } {
  if (source === undefined) return { line: 1, column: 1 };
  if (issue.sourceOffset !== undefined) return position(source, issue.sourceOffset);
  const found = findNode(source, issue.path);
  let offset = 0;
  if (issue.atKey && found.complete && found.key !== undefined) offset = found.key.range?.[0] ?? 0;
  else if (found.node?.range) offset = found.node.range[0];
  else if (found.key?.range) offset = found.key.range[0];
  if (issue.needle !== undefined && found.complete && !issue.atKey && found.node?.range) {
    const at = source.text.indexOf(issue.needle, found.node.range[0]);
    if (at >= 0 && at + issue.needle.length <= found.node.range[1]) offset = at;
  }
  if (issue.offset !== undefined && found.complete && !issue.atKey && isScalar(found.node) && typeof found.node.value === 'string') {
    const s = found.node;
    const quoted = s.type === 'QUOTE_SINGLE' || s.type === 'QUOTE_DOUBLE';
    const start = offset + (quoted ? 1 : 0);
    const value = s.value as string;
    if ((s.type === 'PLAIN' || quoted) && !value.includes('\n') && source.text.slice(start, start + value.length) === value) {
      offset = start + Math.min(issue.offset, value.length);
    }
  }
  return position(source, offset);
}

function position(source: Source, offset: number): { line: number; column: number } {
  const p = source.lines.linePos(Math.max(0, Math.min(offset, source.text.length)));
  return { line: p.line, column: p.col };
}

interface Found {
  node: Node | null;
  key: Node | undefined;
  complete: boolean;
}

function findNode(source: Source, path: Path): Found {
  let node = source.doc.contents as Node | null;
  let key: Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    node = deref(source, node);
    if (isMap(node)) {
      const pair = findPair(source, node.items as Pair[], String(seg), 0);
      if (pair === undefined) return { node, key, complete: false };
      key = pair.key as Node;
      node = (pair.value as Node | null) ?? null;
      if (node === null) return { node: key, key, complete: i === path.length - 1 };
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg] as Node;
      key = undefined;
    } else {
      return { node, key, complete: false };
    }
  }
  return { node, key, complete: true };
}

/** The pair named `name` in a map, looking through `<<` merges (nearest definition wins). */
function findPair(source: Source, items: Pair[], name: string, depth: number): Pair | undefined {
  for (const p of items) if (isScalar(p.key) && typeof p.key.value !== 'symbol' && String(p.key.value) === name) return p;
  if (depth > 8) return undefined;
  for (const p of items) {
    if (!isScalar(p.key) || typeof p.key.value !== 'symbol') continue;
    const sources = isSeq(p.value) ? p.value.items : [p.value];
    for (const s of sources) {
      const m = deref(source, s as Node | null);
      if (isMap(m)) {
        const hit = findPair(source, m.items as Pair[], name, depth + 1);
        if (hit !== undefined) return hit;
      }
    }
  }
  return undefined;
}

function deref(source: Source, node: Node | null): Node | null {
  let n = node;
  for (let i = 0; i < 8 && isAlias(n); i++) n = (n.resolve(source.doc) as Node | undefined) ?? null;
  return n;
}

function syntaxIssues(source: Source): RawIssue[] {
  const out: RawIssue[] = [];
  let deep = false;
  const indented = new Set<number>();
  let indent: ReturnType<typeof indentProblem>;
  for (const e of source.doc.errors) {
    const at = e.pos[0];
    if (e.code === 'RESOURCE_EXHAUSTION') {
      if (!deep) out.push({ path: [], code: 'too_deep', sourceOffset: at, message: `the document nests too deeply to read; nest at most ${MAX_DEPTH} levels` });
      deep = true;
    } else if (e.code === 'DUPLICATE_KEY') {
      const path = pathAt(source, at);
      const key = path.length > 0 ? String(path[path.length - 1]) : '';
      out.push({ path, code: 'duplicate_key', sourceOffset: at, message: `the key ${key ? `"${key.slice(0, 60)}" ` : ''}appears twice in this mapping; keep one` });
    } else if (e.code === 'MULTIPLE_DOCS') {
      out.push({ path: [], code: 'yaml_syntax', sourceOffset: at, message: 'the file holds more than one YAML document (---); keep one workflow per file' });
    } else if ((indent = indentProblem(source.text, e.code, at)) !== undefined) {
      // The parser reports one misindented line as up to two errors on the line above: tell it once.
      if (indented.has(indent.offset)) continue;
      indented.add(indent.offset);
      out.push({ path: pathAt(source, indent.keyOffset).slice(0, -1), code: 'yaml_syntax', sourceOffset: indent.offset, message: indent.message });
    } else {
      out.push({ path: pathAt(source, at), code: 'yaml_syntax', sourceOffset: at, message: `${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')} (YAML ${e.code})` });
    }
  }
  // Running out of stack leaves the rest of the tree half-built: its other errors are noise.
  return deep ? out.filter((i) => i.code === 'too_deep') : out;
}

/** The document path of the deepest node holding `offset` (for syntax errors). */
function pathAt(source: Source, offset: number): Path {
  const path: (string | number)[] = [];
  let node = source.doc.contents as Node | null;
  for (let depth = 0; depth < MAX_DEPTH * 2 && node; depth++) {
    if (isMap(node)) {
      const pair = (node.items as Pair[]).find((p) => within(p.key as Node | null, offset) || within(p.value as Node | null, offset));
      if (!pair || !isScalar(pair.key)) break;
      path.push(String(pair.key.value));
      if (within(pair.key as Node, offset)) break;
      node = pair.value as Node | null;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((n) => within(n as Node | null, offset));
      if (i < 0) break;
      path.push(i);
      node = node.items[i] as Node;
    } else break;
  }
  return path;
}

function within(node: Node | null | undefined, offset: number): boolean {
  return !!node?.range && node.range[0] <= offset && offset < Math.max(node.range[2], node.range[0] + 1);
}

const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));
const WELL_FORMED = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Entry {
  readonly node: Node | null;
  readonly path: Path;
  readonly depth: number;
  readonly parent: Entry | undefined;
}

/** Depth, tags, keys, aliases and scalar checks over the node tree, without recursion. */
function walk(source: Source): { fatal: RawIssue[]; other: RawIssue[]; lastAlias: number } {
  let lastAlias = 0;
  const fatal: RawIssue[] = [];
  const other: RawIssue[] = [];
  const stack: Entry[] = [{ node: source.doc.contents as Node | null, path: [], depth: 0, parent: undefined }];
  while (stack.length > 0 && fatal.length < 50) {
    const entry = stack.pop()!;
    const { node, path, depth } = entry;
    if (node === null) continue;
    if (depth > MAX_DEPTH) {
      fatal.push({ path, code: 'too_deep', message: `nested more than ${MAX_DEPTH} levels deep; flatten the data` });
      break;
    }
    const tag = (node as { tag?: string }).tag;
    if (tag !== undefined && !CORE_TAGS.has(tag)) {
      fatal.push({ path, code: 'custom_tag', message: `the tag ${tag.replace('tag:yaml.org,2002:', '!!')} is not allowed; remove it (workflow files hold plain data: strings, numbers, booleans, null, lists, mappings)` });
    }
    if (isAlias(node)) {
      lastAlias = Math.max(lastAlias, node.range?.[0] ?? 0);
      const target = node.resolve(source.doc) as Node | undefined;
      if (target === undefined) {
        fatal.push({ path, code: 'alias_limit', message: `the alias *${node.source} names no anchor defined before it; define &${node.source} first` });
      } else {
        for (let up: Entry | undefined = entry.parent; up; up = up.parent) {
          if (up.node === target) {
            fatal.push({ path, code: 'alias_limit', message: `the alias *${node.source} is inside its own anchor (an endless value); point it elsewhere` });
            break;
          }
        }
      }
    } else if (isMap(node)) {
      for (const item of node.items as unknown[]) {
        if (!isPair(item)) continue;
        const k = item.key as Node | null;
        const keyValue = isScalar(k) ? k.value : undefined;
        if (typeof keyValue === 'symbol') {
          stack.push({ node: item.value as Node | null, path, depth: depth + 1, parent: entry });
          continue;
        }
        if (!isScalar(k) || (typeof keyValue !== 'string' && typeof keyValue !== 'number')) {
          fatal.push({ path, code: 'invalid_key', sourceOffset: k?.range?.[0] ?? node.range?.[0] ?? 0, message: `mapping keys must be plain strings; got ${isScalar(k) ? String(keyValue) : 'a list or mapping'} as a key — quote it or restructure` });
          continue;
        }
        const name = String(keyValue);
        const keyTag = (k as { tag?: string }).tag;
        if (keyTag !== undefined && !CORE_TAGS.has(keyTag)) {
          fatal.push({ path: [...path, name], atKey: true, code: 'custom_tag', message: `the tag ${keyTag.replace('tag:yaml.org,2002:', '!!')} on this key is not allowed; remove it` });
        }
        if (name === '__proto__') {
          fatal.push({ path: [...path, name], atKey: true, code: 'invalid_key', message: 'the key "__proto__" is not allowed (it reaches JavaScript prototypes); rename it' });
          continue;
        }
        if (WELL_FORMED.test(name)) fatal.push({ path: [...path, name], atKey: true, code: 'invalid_key', message: 'the key is not well-formed Unicode (a lone surrogate); fix the text encoding' });
        stack.push({ node: item.value as Node | null, path: [...path, name], depth: depth + 1, parent: entry });
      }
    } else if (isSeq(node)) {
      for (let i = node.items.length - 1; i >= 0; i--) stack.push({ node: node.items[i] as Node | null, path: [...path, i], depth: depth + 1, parent: entry });
    } else if (isScalar(node)) {
      const v = node.value;
      if (typeof v === 'number' && !Number.isFinite(v)) {
        other.push({ path, code: 'invalid_type', message: `${String(v)} is not a JSON number (.inf, .nan and numbers beyond ±1.8e308 are refused); use a finite number or a string` });
      } else if (typeof v === 'string' && WELL_FORMED.test(v)) {
        other.push({ path, code: 'invalid_type', message: 'the string is not well-formed Unicode (a lone surrogate); fix the text encoding' });
      }
    }
  }
  return { fatal, other, lastAlias };
}

/** After alias expansion: depth and size limits on the plain data, without recursion. */
function checkExpanded(value: unknown): RawIssue | undefined {
  const stack: { v: unknown; depth: number; path: Path }[] = [{ v: value, depth: 0, path: [] }];
  let count = 0;
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!;
    if (++count > MAX_VALUES) return { path: [], code: 'alias_limit', sourceOffset: 0, message: `the document expands to more than ${MAX_VALUES} values; use fewer aliases` };
    if (depth > MAX_DEPTH) return { path, code: 'too_deep', message: `nested more than ${MAX_DEPTH} levels deep once aliases are expanded (${formatPath(path).slice(0, 80)}…); flatten the data` };
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: [...path, i] }));
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, depth: depth + 1, path: [...path, k] });
  }
  return undefined;
}

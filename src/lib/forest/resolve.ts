/**
 * Wiki-link targets resolved by title for text whose mentions the kernel does not store (a search
 * snippet, a list excerpt, an LLM answer): the `forest.resolve` query, as the node page's
 * `mentions` resolve. The answers are cached for the open workspace until the Forest changes (the
 * caller passes the seq of its newest event); requests made in one tick go as one query.
 */
import { untrack } from 'svelte';
import { kernel } from '../kernel.svelte.ts';

const SCOPE = 'forest.resolve';
const cache = new Map<string, string | null>();
let cacheKey = '';
let pending: Set<string> | null = null;
let flight: Promise<void> = Promise.resolve();

function fetchSoon(titles: readonly string[]): Promise<void> {
  if (pending === null) {
    const batch = new Set<string>();
    pending = batch;
    flight = Promise.resolve().then(async () => {
      pending = null;
      const list = [...batch];
      for (let i = 0; i < list.length; i += 500) {
        const r = await kernel.query(SCOPE, 'forest.resolve', { titles: list.slice(i, i + 500) });
        for (const x of r ?? []) cache.set(x.title.toLowerCase(), x.id);
        // Not answered (an error): unresolved rather than asked again and again.
        for (const t of list.slice(i, i + 500)) if (!cache.has(t.toLowerCase())) cache.set(t.toLowerCase(), null);
      }
    });
  }
  for (const t of titles) pending.add(t);
  return flight;
}

/** Target → note id (null: no note has that title), for the open workspace as of Forest event `seq`. */
export async function resolveTitles(titles: readonly string[], seq: number): Promise<Map<string, string | null>> {
  const key = `${untrack(() => kernel.currentId)}\n${seq}`;
  if (key !== cacheKey) {
    cache.clear();
    cacheKey = key;
  }
  for (const t of titles) if (t.length > 300) cache.set(t.toLowerCase(), null); // longer than any title
  const missing = titles.filter((t) => !cache.has(t.toLowerCase()));
  if (missing.length > 0) await fetchSoon(missing);
  return new Map(titles.map((t) => [t, cache.get(t.toLowerCase()) ?? null]));
}

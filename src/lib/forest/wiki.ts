/**
 * A node body cut into plain text and `[[wiki link]]` pieces for display, with each link's
 * resolution from `forest.node.get` (`mentions`): resolved ones become links, the rest show as
 * unresolved. Text inside code is left as it is (the kernel does not count it as a link either).
 */
export interface Resolved { readonly target: string; readonly id: string | null }
export type Piece =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'link'; readonly text: string; readonly target: string; readonly id: string | null };

const TOKEN = /```[\s\S]*?(?:```|$)|`[^`\n]*`|\[\[([^\]|\n]+)(?:\|([^\]\n]*))?\]\]/g;

export function wikiPieces(body: string, resolved: readonly Resolved[]): Piece[] {
  const byTarget = new Map(resolved.map((m) => [m.target.toLowerCase(), m.id]));
  const out: Piece[] = [];
  let at = 0;
  for (const m of body.matchAll(TOKEN)) {
    if (m[1] === undefined || !m[1].trim()) continue; // code, or an empty target: plain text
    if (m.index > at) out.push({ kind: 'text', text: body.slice(at, m.index) });
    const target = m[1].trim();
    out.push({ kind: 'link', text: (m[2] ?? '').trim() || target, target, id: byTarget.get(target.toLowerCase()) ?? null });
    at = m.index + m[0].length;
  }
  if (at < body.length) out.push({ kind: 'text', text: body.slice(at) });
  return out;
}

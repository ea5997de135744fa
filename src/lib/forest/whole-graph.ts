/**
 * The whole-Forest graph on screen: sigma 3 (WebGL) over a graphology graph laid out by
 * graph-layout.ts in a worker. Loaded lazily by src/pages/ForestWholeGraph.svelte (sigma,
 * graphology and the layouts stay out of the first screen).
 *
 * Invariants:
 * 1. Sizes are relative to positions (itemSizesReference 'positions', zoomToSizeRatio x → x), so
 *    discs that do not overlap in the layout never overlap on screen, at any zoom.
 * 2. The test hook is data on the graph element, not a global: `data-layout` holds every node's
 *    disc as drawn ({ id, x, y, r } in CSS pixels from the element's top left), refreshed after
 *    each render (at most every 150 ms).
 * 3. The layout worker is a same-origin module file (worker-src 'self'); if it cannot run, the
 *    layout runs in the page instead.
 */
import Graph from 'graphology';
import Sigma from 'sigma';
import type { LaidNode } from './graph-layout.ts';

export interface WholeGraphData {
  readonly nodes: readonly { id: string; title: string; tags: readonly string[] }[];
  readonly edges: readonly { from: string; to: string; type: string }[];
}

export interface GraphView {
  highlight(id: string | null): void;
  zoom(by: number): void;
  fit(): void;
  destroy(): void;
}

/** Lay the graph out in the layout worker (or here when no worker can start). */
export async function layout(data: WholeGraphData): Promise<LaidNode[]> {
  const message = { nodes: data.nodes.map((n) => ({ id: n.id })), edges: data.edges.map((e) => ({ from: e.from, to: e.to })) };
  try {
    return await new Promise<LaidNode[]>((resolve, reject) => {
      const w = new Worker(new URL('./graph-layout.worker.ts', import.meta.url), { type: 'module' });
      w.onmessage = (e: MessageEvent<LaidNode[]>) => {
        w.terminate();
        resolve(e.data);
      };
      w.onerror = (e) => {
        w.terminate();
        reject(new Error(e.message));
      };
      w.postMessage(message);
    });
  } catch {
    const { layoutGraph } = await import('./graph-layout.ts');
    return layoutGraph(message.nodes, message.edges);
  }
}

const MAX_RADIUS_PX = 22;

/** The square of graph space to show: every disc whole, and big enough that no disc exceeds MAX_RADIUS_PX on a `viewPx` screen. */
function frame(laid: readonly LaidNode[], viewPx: number): { x: [number, number]; y: [number, number] } | null {
  if (laid.length === 0) return null;
  const minX = Math.min(...laid.map((n) => n.x - n.size));
  const maxX = Math.max(...laid.map((n) => n.x + n.size));
  const minY = Math.min(...laid.map((n) => n.y - n.size));
  const maxY = Math.max(...laid.map((n) => n.y + n.size));
  const biggest = Math.max(...laid.map((n) => n.size));
  const side = Math.max(maxX - minX, maxY - minY, (biggest * viewPx) / MAX_RADIUS_PX);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  return { x: [cx - side / 2, cx + side / 2], y: [cy - side / 2, cy + side / 2] };
}

function cssVar(el: HTMLElement, name: string, fallback: string): string {
  return getComputedStyle(el).getPropertyValue(name).trim() || fallback;
}

/** Draw the laid-out graph in `container`; a click on a node calls `open`. Throws when WebGL is unavailable. */
export function mountGraph(container: HTMLElement, data: WholeGraphData, laid: readonly LaidNode[], open: (id: string) => void): GraphView {
  const accent = cssVar(container, '--accent', '#4338ca');
  const muted = cssVar(container, '--muted', '#5b6b80');
  const edgeColor = cssVar(container, '--border-strong', '#cbd5e1');
  const text = cssVar(container, '--text', '#0f172a');
  const at = new Map(laid.map((n) => [n.id, n]));
  const g = new Graph({ type: 'directed', multi: false, allowSelfLoops: false });
  for (const n of data.nodes) {
    const p = at.get(n.id);
    if (!p || g.hasNode(n.id)) continue;
    const summary = n.tags.includes('session');
    g.addNode(n.id, { x: p.x, y: p.y, size: p.size, label: n.title, color: summary ? muted : accent });
  }
  for (const e of data.edges) {
    if (g.hasNode(e.from) && g.hasNode(e.to) && !g.hasEdge(e.from, e.to)) g.addEdge(e.from, e.to, { size: 0.8, color: edgeColor });
  }
  const renderer = new Sigma(g, container, {
    itemSizesReference: 'positions',
    zoomToSizeRatioFunction: (ratio) => ratio,
    defaultEdgeType: 'arrow',
    labelColor: { color: text },
    labelFont: 'system-ui, sans-serif',
    labelSize: 13,
    labelRenderedSizeThreshold: 9,
    stagePadding: 24,
    minCameraRatio: 0.05,
    maxCameraRatio: 4,
  });
  // Frame the discs, not just their centres, and never draw a disc bigger than ~MAX_RADIUS_PX
  // (a graph of three notes would otherwise fill the screen with them).
  const box = frame(laid, Math.min(container.clientWidth || 600, container.clientHeight || 400));
  if (box) {
    renderer.setCustomBBox(box);
    renderer.refresh();
  }
  let timer: ReturnType<typeof setTimeout> | null = null;
  const expose = () => {
    timer = null;
    const discs = g.mapNodes((id) => {
      const d = renderer.getNodeDisplayData(id)!;
      const p = renderer.framedGraphToViewport(d);
      const round = (v: number) => Math.round(v * 100) / 100;
      return { id, x: round(p.x), y: round(p.y), r: round(renderer.scaleSize(d.size)) };
    });
    container.dataset['layout'] = JSON.stringify(discs);
    container.dataset['ready'] = 'true';
  };
  const soon = () => {
    timer ??= setTimeout(expose, 150);
  };
  // The first render happens inside the constructor, before any listener: expose it now.
  soon();
  renderer.on('afterRender', soon);
  renderer.on('clickNode', ({ node }) => open(node));
  renderer.on('enterNode', () => (container.style.cursor = 'pointer'));
  renderer.on('leaveNode', () => (container.style.cursor = ''));
  let lit: string | null = null;
  return {
    highlight(id) {
      if (lit && g.hasNode(lit)) g.setNodeAttribute(lit, 'highlighted', false);
      lit = id && g.hasNode(id) ? id : null;
      if (lit) g.setNodeAttribute(lit, 'highlighted', true);
    },
    zoom(by) {
      const camera = renderer.getCamera();
      void camera.animate({ ratio: camera.ratio / by }, { duration: 200 });
    },
    fit() {
      void renderer.getCamera().animatedReset({ duration: 200 });
    },
    destroy() {
      if (timer) clearTimeout(timer);
      renderer.kill();
    },
  };
}

/**
 * The whole-Forest layout (graph-layout.ts) off the main thread: one message in (`{ nodes, edges }`),
 * one message out (the laid-out nodes). A same-origin module file (the CSP's worker-src is 'self'),
 * started by src/lib/forest/whole-graph.ts.
 */
import { layoutGraph } from './graph-layout.ts';

self.onmessage = (e: MessageEvent<{ nodes: { id: string }[]; edges: { from: string; to: string }[] }>) => {
  self.postMessage(layoutGraph(e.data.nodes, e.data.edges));
};

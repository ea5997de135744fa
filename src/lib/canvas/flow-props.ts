/**
 * The SvelteFlow settings every Kingdom canvas shares (the workflow and session canvases, the
 * manifest dependency graph): fit to the view, no dragging, nodes selectable for the keyboard, no
 * key deletes or multi-selects (the app's own keys do), the system's colours.
 */
export const FLOW_PROPS = {
  fitView: true,
  fitViewOptions: { padding: 0.12, maxZoom: 1.2 },
  maxZoom: 2,
  nodesDraggable: false,
  elementsSelectable: true,
  deleteKey: null,
  selectionKey: null,
  multiSelectionKey: null,
  colorMode: 'system',
} as const;

/**
 * `use:scrollRegion`: a box that scrolls (overflow auto, more content than fits) joins the tab
 * order (tabindex 0), so a keyboard can focus it and scroll it with the arrow keys (WCAG 2.1.1,
 * axe's scrollable-region-focusable); when everything fits it leaves the order again. Checked
 * when the box changes size and when its content changes. For boxes with no focusable content of
 * their own (code, JSON, YAML views); the focus ring is the global one (app.css).
 */
export function scrollRegion(node: HTMLElement): { destroy(): void } {
  const update = (): void => {
    const scrolls = node.scrollHeight > node.clientHeight + 1 || node.scrollWidth > node.clientWidth + 1;
    if (scrolls) node.tabIndex = 0;
    else node.removeAttribute('tabindex');
  };
  const resized = new ResizeObserver(update);
  resized.observe(node);
  const changed = new MutationObserver(update);
  changed.observe(node, { childList: true, characterData: true, subtree: true });
  update();
  return {
    destroy(): void {
      resized.disconnect();
      changed.disconnect();
    },
  };
}

/**
 * Select an element's text, so a person can copy it by hand where the clipboard is refused
 * (no permission, an insecure context): the fallback of every Copy button.
 */
export function selectContents(el: Node | null | undefined): void {
  if (!el) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

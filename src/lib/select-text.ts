/**
 * Copy buttons: write the text to the clipboard, or — where the clipboard is refused (no
 * permission, an insecure context) — select the element showing it, so a person can copy it by hand.
 */
export function selectContents(el: Node | null | undefined): void {
  if (!el) return;
  const range = document.createRange();
  range.selectNodeContents(el);
  const sel = getSelection();
  sel?.removeAllRanges();
  sel?.addRange(range);
}

/** Copy `text`; on refusal select `shown` instead. Answers what happened, for the button's words. */
export async function copyOrSelect(text: string, shown: Node | null | undefined): Promise<'yes' | 'failed'> {
  try {
    await navigator.clipboard.writeText(text);
    return 'yes';
  } catch {
    selectContents(shown);
    return 'failed';
  }
}

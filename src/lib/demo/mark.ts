/**
 * What marks a workspace as demo data, and the names the shell needs, alone in a tiny module so
 * the header, the workspace list and the tour can tell without loading the demo's content
 * (content.ts, which loads when someone asks for the demo).
 *
 * A workspace is demo data when its description starts with DEMO_MARK. No command changes a
 * workspace's description, so the mark cannot drift; it is in the log like any other field.
 */

/** The start of a demo workspace's description. */
export const DEMO_MARK = 'Kingdom demo data';

/** True for a workspace made by "Try the demo". */
export function isDemoWorkspace(w: { readonly description: string }): boolean {
  return w.description.startsWith(DEMO_MARK);
}

/** The workflow of the demo's live session (the guided path links to its page). */
export const DEMO_WORKFLOW = 'demo-release';
/** How long the failed first attempt of the demo's `check` step waits before its retry. */
export const DEMO_RETRY_SECONDS = 4;

/**
 * CodeMirror 6 set up for YAML: highlighting, line numbers, history, lint markers pushed from
 * outside (the kernel's validator answers; nothing here validates), completion from a given
 * source, and Tab indenting — with CodeMirror's documented escape: Esc then Tab (or Shift-Tab)
 * moves focus out of the editor, so the keyboard is never trapped.
 *
 * Imported only with `import()` by YamlEditor.svelte: CodeMirror is its own chunk, not in the
 * first screen's bundle.
 */
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, placeholder as placeholderExt } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { bracketMatching, defaultHighlightStyle, HighlightStyle, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { autocompletion, completionKeymap, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { yaml } from '@codemirror/lang-yaml';
import { issueRange } from '../../lib/editor/positions.ts';
import type { Completion } from '../../lib/editor/completion.ts';

export interface EditorIssue {
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly severity: 'error' | 'warning';
}

export interface EditorOptions {
  readonly doc: string;
  readonly label: string;
  readonly readOnly: boolean;
  readonly placeholder?: string;
  readonly onChange: (doc: string) => void;
  readonly complete?: (text: string, pos: number) => Completion | null;
}

export interface EditorHandle {
  readonly view: EditorView;
  setIssues(issues: readonly EditorIssue[]): void;
  setDoc(doc: string): void;
  /** Put the caret at a 1-based line and column, scroll it into view and focus the editor. */
  focusAt(line: number, column: number): void;
  destroy(): void;
}

const theme = EditorView.theme({
  '&': { fontSize: '0.85rem', backgroundColor: 'var(--surface)', color: 'inherit', height: '100%' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.5', overflow: 'auto' },
  '.cm-gutters': { backgroundColor: 'var(--surface-2)', color: 'var(--muted)', borderRight: '1px solid var(--border-strong)' },
  // The focus ring is drawn by YamlEditor's wrapper (.focus-ring-within in app.css).
  '&.cm-focused': { outline: 'none' },
  '.cm-content': { caretColor: 'currentColor' },
  '.cm-activeLine': { backgroundColor: 'color-mix(in srgb, var(--surface-2) 60%, transparent)' },
  '.cm-tooltip': { fontFamily: 'var(--mono)' },
});

/**
 * CodeMirror's default highlighting, its colours replaced by the app's code tokens (app.css: a
 * light and a dark value each, ≥ 4.5:1 on the editor's background in both colour schemes; the
 * default colours are for light backgrounds only).
 */
const CODE_COLOURS: Readonly<Record<string, string>> = {
  '#708': 'var(--code-keyword)',
  '#00c': 'var(--code-name)', '#00f': 'var(--code-name)', '#30a': 'var(--code-name)', '#219': 'var(--code-name)', '#256': 'var(--code-name)', '#167': 'var(--code-name)',
  '#a11': 'var(--code-string)', '#e40': 'var(--code-string)',
  '#164': 'var(--code-literal)', '#085': 'var(--code-literal)',
  '#940': 'var(--code-comment)', '#404740': 'var(--code-comment)',
  '#f00': 'var(--danger)',
};
const highlightStyle = HighlightStyle.define(defaultHighlightStyle.specs.map((spec) => {
  const colour = typeof spec['color'] === 'string' ? CODE_COLOURS[spec['color']] : undefined;
  return colour ? { ...spec, color: colour } : spec;
}));

export function createYamlEditor(parent: HTMLElement, opts: EditorOptions): EditorHandle {
  const readOnly = new Compartment();
  let applying = false;
  const source = (ctx: CompletionContext): CompletionResult | null => {
    const c = opts.complete?.(ctx.state.doc.toString(), ctx.pos);
    if (!c || c.options.length === 0) return null;
    return { from: c.from, options: c.options.map((o) => ({ label: o.label, type: o.type, detail: o.detail })), validFor: /^[\w$-]*$/ };
  };
  const state = EditorState.create({
    doc: opts.doc,
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightActiveLine(),
      drawSelection(),
      history(),
      indentOnInput(),
      bracketMatching(),
      indentUnit.of('  '),
      EditorState.tabSize.of(2),
      syntaxHighlighting(highlightStyle),
      yaml(),
      lintGutter(),
      autocompletion({ override: [source], activateOnTyping: true }),
      keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
      readOnly.of([EditorState.readOnly.of(opts.readOnly), EditorView.editable.of(!opts.readOnly)]),
      // tabindex: in the tab order even read-only, where the content is not editable (and axe counts
      // only tabindex, not contenteditable, as focusable content of the scroller).
      EditorView.contentAttributes.of({ tabindex: '0', 'aria-label': opts.label, spellcheck: 'false', autocorrect: 'off', autocapitalize: 'off' }),
      opts.placeholder ? placeholderExt(opts.placeholder) : [],
      theme,
      EditorView.updateListener.of((u) => {
        if (u.docChanged && !applying) opts.onChange(u.state.doc.toString());
      }),
    ],
  });
  const view = new EditorView({ state, parent });
  return {
    view,
    setIssues(issues) {
      const text = view.state.doc.toString();
      const diagnostics: Diagnostic[] = issues.map((i) => ({ ...issueRange(text, i), severity: i.severity, message: i.message, source: 'Kingdom' }));
      view.dispatch(setDiagnostics(view.state, diagnostics));
    },
    setDoc(doc) {
      if (doc === view.state.doc.toString()) return;
      applying = true;
      try {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc } });
      } finally {
        applying = false;
      }
    },
    focusAt(line, column) {
      const l = view.state.doc.line(Math.min(Math.max(1, line), view.state.doc.lines));
      const pos = Math.min(l.from + Math.max(0, column - 1), l.to);
      view.dispatch({ selection: { anchor: pos }, effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
      view.focus();
    },
    destroy() {
      view.destroy();
    },
  };
}

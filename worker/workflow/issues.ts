/**
 * What `parseWorkflow` reports when a workflow file is refused: `WorkflowIssue`s and their codes.
 *
 * Invariants:
 * 1. Every issue names a `path` in the document (`steps[2].retry.backoff`, '' for the root), a
 *    1-based `line`/`column`, a `code` from `WORKFLOW_ISSUE_CODES` and a `message` that says what
 *    was expected and how to fix it.
 * 2. An issue is plain data (survives structuredClone and the worker boundary).
 * 3. A report holds at most `MAX_ISSUES` issues, sorted by position, without duplicates.
 * 4. Warnings (`output_field`) have the same shape; they come with a valid workflow and never make
 *    it refused.
 */

export const WORKFLOW_ISSUE_CODES = {
  not_text: 'The workflow source is not a string.',
  too_large: 'The file is larger than 256 KiB.',
  yaml_syntax: 'The text is not valid YAML (or holds more than one document).',
  duplicate_key: 'A mapping names the same key twice.',
  custom_tag: 'A YAML tag other than the core ones (!!str, !!int, !!float, !!bool, !!null, !!map, !!seq) is used.',
  alias_limit: 'Aliases expand to too much data (billion-laughs guard), refer to a missing anchor or to themselves.',
  too_deep: 'The document nests more than 64 levels deep.',
  invalid_key: 'A mapping key is not a plain string or number, or is a forbidden name like __proto__.',
  unknown_key: 'A key that this object does not have (with a did-you-mean suggestion when one is close).',
  missing_key: 'A required key is absent.',
  invalid_type: 'A value has the wrong type (for example a number where a list of step ids is expected).',
  invalid_value: 'A value is not one of the allowed options (enums such as retry.backoff or step type).',
  invalid_format: 'A string does not have the required shape (step id, name, version, workflow reference).',
  out_of_range: 'A number, list or string is too small or too large.',
  invalid_duration: 'A duration is not a number of milliseconds or a string like 30s, 1h30m or PT5M.',
  invalid_time: 'A wait.until time is not an ISO-8601 date-time with a time zone (or a template).',
  invalid_default: 'An input default or enum value does not match the input type or enum.',
  duplicate_id: 'Two steps (at any nesting level) have the same id.',
  unknown_step: 'A step id in dependsOn, then, else or onFailure.goto names no step in that step list.',
  cycle: 'dependsOn (with the implicit decision edges) forms a cycle.',
  unreachable: 'A step can never run, whatever the decisions choose.',
  invalid_branch: 'A decision names itself in then/else, or a step that already belongs to a decision branch.',
  invalid_route: 'An onFailure.goto target is not this step or one of its upstream steps.',
  invalid_expression: 'A condition or expression (if, over, gate check) does not parse.',
  invalid_template: 'A {{ }} template does not parse.',
  unknown_reference: 'An expression or template uses a name that is not defined there.',
  undeclared_input: 'An expression or template reads inputs.<name> for an input that is not declared.',
  not_upstream: 'An expression or template reads steps.<id> for a step that does not run before it.',
  output_field: 'Warning (the file is still saved): an expression or template reads a field that an llm or agent step\'s output never has, e.g. steps.validate.output.safe for steps.validate.output.json.safe.',
  unknown_runner: 'A task step names a runner that is neither built in nor an installed Tool (or no installed version is in its import range): refused at start, a warning while editing.',
  unknown_agent: 'An agent step names an Agent manifest that is not installed (or not in its import range): refused at start, a warning while editing.',
  env_unset: 'Warning: a template or condition reads env.<name> and the session\'s env does not set it (it reads as null).',
  too_many_steps: 'The workflow has more than 500 steps (counting nested ones).',
  internal: 'The validator itself failed (a bug); the message holds the cause.',
} as const;

export type WorkflowIssueCode = keyof typeof WORKFLOW_ISSUE_CODES;

export interface WorkflowIssue {
  /** Where in the document: `steps[2].retry.backoff`; '' is the document itself. */
  readonly path: string;
  /** 1-based line of the offending node (or of its nearest existing parent). */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
  /** What is wrong and how to fix it. */
  readonly message: string;
  readonly code: WorkflowIssueCode;
}

/** A path into the document, as keys and indexes. */
export type Path = readonly (string | number)[];

/** An issue before it has a position: the pipeline collects these, then locates them all at once. */
export interface RawIssue {
  readonly path: Path;
  readonly code: WorkflowIssueCode;
  readonly message: string;
  /** Point at the key itself rather than its value (unknown keys, duplicate keys). */
  readonly atKey?: boolean;
  /** Extra characters into the located scalar (an expression error's offset), when it maps 1:1. */
  readonly offset?: number;
  /** Text to find inside the located node's source (a reference in a template); its start is used. */
  readonly needle?: string;
  /** An explicit 0-based source offset (YAML syntax errors), used instead of `path`. */
  readonly sourceOffset?: number;
  /** A warning: reported with a valid workflow (`warnings`), never a reason to refuse it. */
  readonly warning?: boolean;
}

export const MAX_ISSUES = 50;

/** `['steps', 2, 'retry', 'backoff']` → `steps[2].retry.backoff`; odd keys are quoted: `with["x-id"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** One line for humans: `steps[2].retry.backoff (3:14): expected exponential | linear | fixed`. */
export function formatIssue(issue: WorkflowIssue): string {
  return `${issue.path || '(document)'} (${issue.line}:${issue.column}): ${issue.message} [${issue.code}]`;
}

/** Sort by position then path, drop exact duplicates, keep the first `MAX_ISSUES`. */
export function finishIssues(issues: readonly WorkflowIssue[]): WorkflowIssue[] {
  const seen = new Set<string>();
  const unique: WorkflowIssue[] = [];
  for (const i of issues) {
    const key = `${i.path}\u0000${i.code}\u0000${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(i);
  }
  unique.sort((a, b) => a.line - b.line || a.column - b.column || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return unique.slice(0, MAX_ISSUES);
}

/** A short, quoted description of a value for messages: `"exponentail"`, `the number 3`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}…` : JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : `the number ${String(value)}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

/**
 * A schema issue of a command or query (`details.issues[]`: path, zod issue code, message) as a
 * sentence about the field a person filled in: "The name is empty. Type a name and try again."
 * Fields are named by their last path segment, with per-command names where one word means
 * different things (`llm.provider.set` `id` is the provider id). Pure module.
 *
 * Invariant: a sentence names the field in words, never its path, and ends with what to do.
 */
import { isPlain } from './plain.ts';

export interface Issue {
  readonly path: string;
  readonly message: string;
  /** zod's issue code (too_small, too_big, invalid_type, invalid_format, invalid_value, unrecognized_keys, custom, …). */
  readonly code: string;
  readonly line?: number;
}

type Kind = 'text' | 'list' | 'number' | 'choice' | 'object' | 'flag' | 'ref' | 'cron' | 'url';

interface Field {
  readonly label: string;
  readonly kind: Kind;
  /** A list's item ("model"). */
  readonly item?: string;
}

const f = (label: string, kind: Kind = 'text', item?: string): Field => (item ? { label, kind, item } : { label, kind });

/** By the field's last path segment. */
const FIELDS: { readonly [name: string]: Field } = {
  name: f('name'),
  title: f('title'),
  body: f('text'),
  description: f('description'),
  comment: f('comment'),
  reason: f('reason'),
  tags: f('tag list', 'list', 'tag'),
  tag: f('tag'),
  models: f('model list', 'list', 'model'),
  baseUrl: f('base URL', 'url'),
  relayUrl: f('relay address', 'url'),
  url: f('address', 'url'),
  apiKeySecret: f('name of the key’s secret'),
  kind: f('kind', 'choice'),
  value: f('value'),
  source: f('workflow text'),
  inputs: f('inputs', 'object'),
  env: f('environment', 'object'),
  metadata: f('metadata', 'object'),
  query: f('search text'),
  text: f('search text'),
  cron: f('cron expression', 'cron'),
  schedule: f('schedule', 'cron'),
  timezone: f('time zone'),
  limit: f('number of rows', 'number'),
  offset: f('starting row', 'number'),
  depth: f('depth', 'number'),
  maxNodes: f('number of nodes', 'number'),
  failedLimit: f('number of failures', 'number'),
  atSeq: f('event number', 'number'),
  revision: f('revision', 'number'),
  status: f('status', 'choice'),
  direction: f('direction', 'choice'),
  includeArchived: f('“include archived” choice', 'flag'),
  workspaceId: f('workspace', 'ref'),
  projectId: f('project', 'ref'),
  sessionId: f('session', 'ref'),
  parentId: f('parent session', 'ref'),
  nodeId: f('node', 'ref'),
  workflow: f('workflow', 'ref'),
  step: f('step', 'ref'),
  fromStep: f('step to run again from', 'ref'),
  from: f('node the link starts at', 'ref'),
  to: f('node the link points to', 'ref'),
  type: f('link type'),
  device: f('device', 'ref'),
  id: f('id'),
  ids: f('list of ids', 'list', 'id'),
  hash: f('content hash', 'ref'),
  ref: f('workflow', 'ref'),
};

/** `command:field` names that differ from the plain one. */
const BY_COMMAND: { readonly [key: string]: Field } = {
  'llm.provider.set:id': f('provider id'),
  'llm.provider.delete:id': f('provider id', 'ref'),
  'llm.provider.set:kind': f('kind of provider', 'choice'),
  'secret.set:name': f('secret name'),
  'secret.set:value': f('secret value'),
  'secret.delete:name': f('secret name', 'ref'),
  'device.name:name': f('device name'),
  'device.add:name': f('device name'),
  'project.create:name': f('project name'),
  'project.rename:name': f('project name'),
  'workflow.save:source': f('workflow text'),
  'workflow.archive:name': f('workflow', 'ref'),
  'workflow.get:name': f('workflow', 'ref'),
  'policy.set:allow': f('allow list', 'list', 'allowed pattern'),
  'policy.set:deny': f('deny list', 'list', 'denied pattern'),
};

const article = (w: string): string => (/^[aeiou]/i.test(w) ? 'an' : 'a');

/** The field an issue is about ("payload.tags.0" → the tag list's item). */
export function fieldOf(path: string, command?: string): { field: Field; item: boolean } | null {
  const segs = path.split('.').filter((s) => s !== '' && s !== 'payload' && s !== 'params');
  let item = false;
  while (segs.length > 0 && /^\d+$/.test(segs[segs.length - 1]!)) {
    segs.pop();
    item = true;
  }
  const last = segs[segs.length - 1];
  if (last === undefined) return null;
  const field = (command ? BY_COMMAND[`${command}:${last}`] : undefined) ?? FIELDS[last] ?? f(words(last));
  return { field, item };
}

/** `apiKeySecret` → "api key secret"; `max_turns` → "max turns". */
function words(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
}

/** The first number after "at least", "at most", ">=", "<=", "of 1–120". */
function bound(message: string, which: 'min' | 'max'): number | undefined {
  const re = which === 'min' ? /(?:>=\s*|at least\s+|\bof\s+)(\d+)/ : /(?:<=\s*|at most\s+|–\s*)(\d+)/;
  const m = re.exec(message);
  return m ? Number(m[1]) : undefined;
}

const EXPECTED: { readonly [t: string]: string } = {
  string: 'text', number: 'a number', int: 'a whole number', boolean: 'yes or no', array: 'a list', object: 'a set of named values',
};

/** A zod / kernel hint worth showing after the field ("lower-case letters, digits…"), or null. */
function hint(message: string): string | null {
  if (/^(Invalid|Too (small|big)|Expected)\b/.test(message)) return null;
  const t = message.replace(/\s*;\s*(send|add|remove|pass|use|pick|choose)\b.*$/i, '').replace(/[.;]\s*$/, '').trim();
  return t !== '' && isPlain(t) ? t : null;
}

/** One issue as a sentence with what to do. */
export function issueSentence(issue: Issue, command?: string): string {
  const found = fieldOf(issue.path, command);
  if (issue.code === 'unrecognized_keys') {
    const keys = [...issue.message.matchAll(/"([^"]+)"/g)].map((m) => m[1]!).join(', ');
    return `The app sent a field the kernel does not know${keys ? ` (${keys})` : ''}, so nothing changed. Reload the page and try again.`;
  }
  if (!found) return 'What was sent is not in the expected form, so nothing changed. Reload the page and try again.';
  const { field, item } = found;
  const label = item && field.item ? field.item : field.label;
  const the = `The ${label}`;
  const a = `${article(label)} ${label}`;
  const msg = issue.message;
  if (field.kind === 'cron') {
    const h = hint(msg);
    return `${the} is not valid${h ? `: ${h}` : ''}. Write five fields — minute, hour, day of month, month, weekday (for example 0 9 * * 1) — and try again.`;
  }
  switch (issue.code) {
    case 'too_small': {
      const min = bound(msg, 'min');
      if (field.kind === 'list' && !item) return `${the} is empty. Add at least one ${field.item ?? 'item'} and try again.`;
      if (field.kind === 'number') return `${the} must be at least ${min ?? 'larger'}. Enter a larger number and try again.`;
      if (min === undefined || min <= 1 || /empty/.test(msg)) return `${the} is empty. Type ${a} and try again.`;
      return `${the} is too short (at least ${min} characters). Make it longer and try again.`;
    }
    case 'too_big': {
      const max = bound(msg, 'max');
      if (field.kind === 'list' && !item) return `${the} has too many entries${max !== undefined ? ` (at most ${max})` : ''}. Remove some and try again.`;
      if (field.kind === 'number') return `${the} must be at most ${max ?? 'smaller'}. Enter a smaller number and try again.`;
      return `${the} is too long${max !== undefined ? ` (at most ${max} characters)` : ''}. Shorten it and try again.`;
    }
    case 'invalid_type': {
      if (/required|received undefined/.test(msg)) return `${the} is missing. Fill it in and try again.`;
      const expected = /expected (\w+)/.exec(msg)?.[1];
      return `${the} has the wrong kind of value${expected && EXPECTED[expected] ? ` (it should be ${EXPECTED[expected]})` : ''}. Correct it and try again.`;
    }
    case 'invalid_value': {
      const options = [...msg.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
      if (options.length > 0) return `${the} must be one of: ${options.join(', ')}. Pick one of them and try again.`;
      return `${the} is not one of the allowed values. Pick another and try again.`;
    }
    default: {
      if (field.kind === 'url' || /\burl\b|URL/.test(msg)) {
        const h = hint(msg);
        return `${the} is not a valid address${h ? ` (${h})` : ''}. Enter a full address such as https://api.example.com/v1 and try again.`;
      }
      if (field.kind === 'ref') return `${the} is not valid here. Pick it again from the list and try again.`;
      const h = hint(msg);
      return `${the} is not in the right form${h ? ` (${h})` : ''}. Correct it and try again.`;
    }
  }
}

/**
 * The canvas palette: the step types the workflow JSON Schema lists (`workflow.schema`, read by
 * `paletteFromSchema`), and for each a new step with a unique default id and its required keys
 * filled with placeholders that pass validation (`stepTemplate`).
 *
 * Invariants:
 * 1. Pure. The types and their required keys come from the schema, never from a list kept here;
 *    only the placeholder values are chosen here (by key name).
 * 2. Every template validates as a new top-level step of any valid workflow (unit-tested against
 *    the worker's validator for every type in the schema).
 * 3. New ids are `<type>_<n>` (`task_1`, `task_2`…) with the smallest n not taken.
 */

export interface PaletteItem {
  readonly type: string;
  /** Keys a step of this type must have, besides id and type. */
  readonly required: readonly string[];
  readonly description: string;
}

/** A step id (as worker/workflow/schema.ts STEP_ID_PATTERN; a unit test keeps them equal). */
export const STEP_ID = /^[a-z][a-z0-9_-]{0,63}$/;

type Obj = { readonly [k: string]: unknown };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The palette, in the schema's order of step types. */
export function paletteFromSchema(schema: unknown): PaletteItem[] {
  const defs = isObj(schema) && isObj(schema['$defs']) ? schema['$defs'] : {};
  const step = isObj(defs['Step']) ? defs['Step'] : {};
  const variants = Array.isArray(step['oneOf']) ? step['oneOf'].filter(isObj) : [];
  const out: PaletteItem[] = [];
  for (const v of variants) {
    const props = isObj(v['properties']) ? v['properties'] : {};
    const t = isObj(props['type']) ? props['type']['const'] : undefined;
    if (typeof t !== 'string') continue;
    const required = Array.isArray(v['required']) ? v['required'].filter((k): k is string => typeof k === 'string' && k !== 'id' && k !== 'type') : [];
    out.push({ type: t, required, description: typeof v['description'] === 'string' ? v['description'] : '' });
  }
  return out;
}

/** `<base>_<n>` with the smallest n ≥ 1 not in `taken` (the base cut so the id stays ≤ 64 characters). */
export function uniqueId(base: string, taken: ReadonlySet<string>): string {
  const clean = base.toLowerCase().replace(/[^a-z0-9_-]/g, '_').replace(/^[^a-z]+/, '') || 'step';
  for (let n = 1; ; n++) {
    const id = `${clean.slice(0, 60)}_${n}`;
    if (!taken.has(id)) return id;
  }
}

export interface StepTemplate {
  /** The new step, keys in order: id, type, the required keys, then what it needs to run. */
  readonly step: { readonly [key: string]: unknown };
  /** Steps to add next to it in the same list (a decision's then step). */
  readonly siblings: readonly { readonly [key: string]: unknown }[];
}

/** A task that runs offline (the transform runner returns its `with.value`). */
function task(id: string): { [key: string]: unknown } {
  return { id, type: 'task', runner: 'transform', with: { value: 'TODO' } };
}

/**
 * A new step of `item.type` whose id comes from `newId` (called again for any inner steps, so
 * each id is unique). Keys the placeholders do not know get the text "TODO".
 */
export function stepTemplate(item: PaletteItem, newId: (base: string) => string): StepTemplate {
  const id = newId(item.type);
  const step: { [key: string]: unknown } = { id, type: item.type };
  const siblings: { [key: string]: unknown }[] = [];
  for (const key of item.required) {
    switch (key) {
      case 'runner': step[key] = 'transform'; break;
      case 'model': step[key] = 'provider/model'; break;
      case 'prompt': step[key] = item.type === 'approval' ? 'Go ahead?' : 'Write the prompt here.'; break;
      case 'tools': step[key] = ['forest.search']; break;
      case 'query': step[key] = 'words to search for'; break;
      case 'if': step[key] = 'true'; break;
      case 'over': step[key] = '[1, 2, 3]'; break;
      case 'workflow': step[key] = 'other-workflow'; break;
      case 'steps': step[key] = [task(newId('task'))]; break;
      case 'branches': step[key] = [[task(newId('task'))], [task(newId('task'))]]; break;
      case 'then': {
        const then = task(newId('task'));
        siblings.push(then);
        step[key] = [then['id']];
        break;
      }
      default: step[key] = 'TODO';
    }
  }
  // What it needs to run, beyond the schema's required keys.
  if (item.type === 'task' && !('with' in step)) step['with'] = { value: 'TODO' };
  if (item.type === 'wait' && !('duration' in step) && !('until' in step)) step['duration'] = '1s';
  // An agent written inline (the other form names an Agent manifest: agent: <name>).
  if (item.type === 'agent' && !('agent' in step)) Object.assign(step, { model: step['model'] ?? 'provider/model', tools: step['tools'] ?? ['forest.search'] });
  return { step, siblings };
}

/**
 * A realistic, deterministic set of manifests with dependencies (docs/manifests.md), for the
 * registry benchmarks (test/bench/lib/manifests.ts) and any kernel-level bench or test that needs
 * many manifests: Tools (1–3 versions each), Relics, Agents using tools, Workflows whose task
 * steps call `runner.<tool>` (and import those tools with semver ranges), Katas pointing at
 * workflows, and Monuments composing relics, agents and katas with a start order and conditions.
 *
 * Invariants:
 * 1. Deterministic: the same options give the same texts (seeded mulberry32).
 * 2. Every text parses with `parseManifest` and the whole set resolves with no missing need and
 *    no cycle (test/unit/manifests/manifest-set.test.ts checks it); every range matches a
 *    version in the set.
 * 3. Exactly `total` manifests; names are unique per kind, letters only (no digit look-alikes).
 */
import { mulberry32 } from './prng.ts';

export type GeneratedKind = 'Tool' | 'Relic' | 'Agent' | 'Workflow' | 'Kata' | 'Monument';

export interface GeneratedManifest {
  readonly kind: GeneratedKind;
  readonly name: string;
  readonly version: string;
  readonly text: string;
}

export interface ManifestSetOptions {
  /** How many manifests (default 1,000; at least 20). */
  readonly total?: number;
  readonly seed?: number;
}

/** Share of each kind in the set (the rest of the rounding goes to Workflows). */
const SHARES: readonly [GeneratedKind, number][] = [['Tool', 0.3], ['Relic', 0.03], ['Agent', 0.15], ['Kata', 0.18], ['Monument', 0.04], ['Workflow', 0.3]];
const TOOL_VERSIONS = [['1.0.0'], ['1.0.0', '1.2.0'], ['1.0.0', '1.2.0', '2.0.0']] as const;
const WORDS = ['deploy', 'notify', 'build', 'scan', 'backup', 'restore', 'report', 'audit', 'sync', 'index', 'label', 'review', 'triage', 'archive', 'publish', 'measure'];

/** `aa`, `ab`, …: a unique letters-only suffix for number n. */
function letters(n: number): string {
  let s = '';
  let x = n;
  do {
    s = String.fromCharCode(97 + (x % 26)) + s;
    x = Math.floor(x / 26) - 1;
  } while (x >= 0);
  return s.padStart(3, 'a');
}

export function generateManifestSet(options: ManifestSetOptions = {}): GeneratedManifest[] {
  const total = Math.max(20, options.total ?? 1000);
  const rand = mulberry32(options.seed ?? 15);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const some = <T>(xs: readonly T[], min: number, max: number): T[] => {
    const n = Math.min(xs.length, min + Math.floor(rand() * (max - min + 1)));
    const pool = [...xs];
    const out: T[] = [];
    while (out.length < n) out.push(pool.splice(Math.floor(rand() * pool.length), 1)[0]!);
    return out;
  };
  const count = new Map<GeneratedKind, number>();
  let assigned = 0;
  for (const [kind, share] of SHARES) {
    const n = kind === 'Workflow' ? total - assigned : Math.max(1, Math.floor(total * share));
    count.set(kind, n);
    assigned += n;
  }
  const out: GeneratedManifest[] = [];

  // Tools: names with 1–3 versions until the Tool budget is used up.
  const tools: { name: string; versions: string[] }[] = [];
  for (let left = count.get('Tool')!, i = 0; left > 0; i++) {
    const versions = pick(TOOL_VERSIONS).slice(0, left);
    left -= versions.length;
    const name = `runner.${WORDS[i % WORDS.length]}-${letters(i)}`;
    tools.push({ name, versions: [...versions] });
    for (const v of versions) out.push({ kind: 'Tool', name, version: v, text: toolText(name, v, i % 3 === 0) });
  }
  /** A range some version of the tool satisfies. */
  const toolRange = (t: { versions: readonly string[] }): string => {
    const last = t.versions[t.versions.length - 1]!;
    return pick(last === '2.0.0' ? ['^2.0.0', '>=1.2.0 <3.0.0', '*'] : last === '1.2.0' ? ['^1.0.0', '~1.2.0', '>=1.0.0 <2.0.0'] : ['^1.0.0', '1.x', '*']);
  };

  const relics: string[] = [];
  for (let i = 0; i < count.get('Relic')!; i++) {
    const name = `relic-${letters(i)}`;
    relics.push(name);
    out.push({ kind: 'Relic', name, version: '1.0.0', text: relicText(name, i) });
  }

  const agents: string[] = [];
  for (let i = 0; i < count.get('Agent')!; i++) {
    const name = `agent-${pick(WORDS)}-${letters(i)}`;
    agents.push(name);
    const used = some(tools, 1, 4);
    out.push({ kind: 'Agent', name, version: '1.0.0', text: agentText(name, used.map((t) => t.name), used[0]!.name, toolRange(used[0]!)) });
  }

  const workflows: string[] = [];
  for (let i = 0; i < count.get('Workflow')!; i++) {
    const name = `wf-${pick(WORDS)}-${letters(i)}`;
    workflows.push(name);
    const used = some(tools, 1, 4).map((t) => ({ name: t.name, range: toolRange(t) }));
    out.push({ kind: 'Workflow', name, version: '1.0.0', text: workflowText(name, used, rand() < 0.5) });
  }

  const katas: string[] = [];
  for (let i = 0; i < count.get('Kata')!; i++) {
    const name = `kata-${pick(WORDS)}-${letters(i)}`;
    katas.push(name);
    out.push({ kind: 'Kata', name, version: '1.0.0', text: kataText(name, pick(workflows), pick(WORDS)) });
  }

  for (let i = 0; i < count.get('Monument')!; i++) {
    const parts = { relics: some(relics, 1, 2), agents: some(agents, 1, 3), katas: some(katas, 1, 4) };
    out.push({ kind: 'Monument', name: `monument-${letters(i)}`, version: '1.0.0', text: monumentText(`monument-${letters(i)}`, parts) });
  }
  return out;
}

/** The manifest's text with its description changed (edit number `n`): what a hot reload sees. */
export function editedText(m: GeneratedManifest, n: number): string {
  return m.text.replace(/^description: (.*)$/m, (_all, d: string) => `description: ${d} (edit ${n})`);
}

function toolText(name: string, version: string, http: boolean): string {
  const head = `kind: Tool\nname: ${name}\nversion: ${version}\ndescription: ${name} as a named runner\n`;
  const params = 'parameters:\n  target: { type: string, required: true }\n  level: { type: string, enum: [low, normal, high], default: normal }\n';
  if (http) {
    return `${head}runner: http\n${params}http:\n  method: POST\n  url: "https://tools.example.com/${name}"\n  headers:\n    Authorization: "Bearer {{secrets.TOOL_TOKEN}}"\n  body:\n    target: "{{params.target}}"\n    level: "{{params.level}}"\n`;
  }
  return `${head}runner: transform\n${params}transform:\n  expression: "{ done: true, target: params.target, level: params.level }"\n`;
}

function relicText(name: string, i: number): string {
  const port = 9000 + i;
  return `kind: Relic\nname: ${name}\nversion: 1.0.0\ndescription: An external service\nendpoints:\n  api: "http://127.0.0.1:${port}/api"\nhealth:\n  url: "http://127.0.0.1:${port}/healthz"\n  every: 30s\n  timeout: 2s\n`;
}

function agentText(name: string, tools: readonly string[], imported: string, range: string): string {
  return `kind: Agent\nname: ${name}\nversion: 1.0.0\ndescription: An agent that uses ${tools.length} tools\nimports:\n  - { kind: Tool, name: ${imported}, version: "${range}" }\npersona: |\n  You handle ${name} requests: read the ticket, call the tools you need and report.\nmodel: { provider: openai, name: gpt-4o-mini }\ntools: [${tools.join(', ')}]\nmaxTurns: 6\n`;
}

function workflowText(name: string, tools: readonly { name: string; range: string }[], llm: boolean): string {
  const lines = [
    'kind: Workflow',
    `name: ${name}`,
    'version: 1.0.0',
    `description: Runs ${tools.length} tools in a chain`,
    'imports:',
    ...tools.map((t) => `  - { kind: Tool, name: ${t.name}, version: "${t.range}" }`),
    'inputs:',
    '  target: { type: string, required: true }',
    '  level: { type: string, default: normal }',
    'steps:',
    '  - id: prepare',
    '    type: task',
    '    runner: transform',
    '    with:',
    '      value: "{{ inputs.target }}"',
  ];
  let prev = 'prepare';
  tools.forEach((t, i) => {
    const id = `call_${i + 1}`;
    lines.push(`  - id: ${id}`, '    type: task', `    runner: ${t.name}`, `    dependsOn: [${prev}]`, '    with:', '      target: "{{ steps.prepare.output }}"', '      level: "{{ inputs.level }}"', '    retry: { maxAttempts: 3, initialDelay: 2s }', '    timeout: 5m');
    prev = id;
  });
  if (llm) {
    lines.push('  - id: summarise', '    type: llm', `    dependsOn: [${prev}]`, '    model: gpt-4o-mini', '    prompt: |', '      Summarise what the tools did for {{ inputs.target }}:', `      {{ steps.${prev}.output }}`);
  }
  return `${lines.join('\n')}\n`;
}

function kataText(name: string, workflow: string, tag: string): string {
  return `kind: Kata\nname: ${name}\nversion: 1.0.0\ndescription: ${workflow} packaged\nimports:\n  - { kind: Workflow, name: ${workflow}, version: "^1.0.0" }\nworkflow: ${workflow}\ntags: [${tag}, bench]\ncomplexity: moderate\nrequires: { kingdom: ">=0.1.0", runners: [http, transform] }\ncapabilities: { hosts: [tools.example.com], runners: [http, transform], secrets: [TOOL_TOKEN] }\n`;
}

function monumentText(name: string, parts: { relics: readonly string[]; agents: readonly string[]; katas: readonly string[] }): string {
  const components = [
    ...parts.relics.map((n) => `  - { kind: Relic, name: ${n}, version: "^1.0.0" }`),
    ...parts.agents.map((n) => `  - { kind: Agent, name: ${n} }`),
    ...parts.katas.map((n) => `  - { kind: Kata, name: ${n}, version: ">=1.0.0 <2.0.0" }`),
  ];
  const conditions = parts.katas.map((k) => `  ${k}: { ${parts.relics[0]}: healthy }`);
  return `kind: Monument\nname: ${name}\nversion: 1.0.0\ndescription: Relics, agents and katas brought up together\ncomponents:\n${components.join('\n')}\nstartOrder:\n  - [${parts.relics.join(', ')}]\n  - [${[...parts.agents, ...parts.katas].join(', ')}]\nconditions:\n${conditions.join('\n')}\n`;
}

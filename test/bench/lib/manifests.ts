/**
 * `manifests` benchmark (Node): the manifest registry on 1,000 manifests with dependencies
 * (test/helpers/manifest-set.ts: Tools, Relics, Agents using tools, Workflows calling
 * `runner.<tool>`, Katas, Monuments; semver ranges), docs/benchmarks.md "Realms and manifests".
 *
 *  - `manifests.parse`: `parseManifest` of all 1,000 texts; baseline: the `yaml` package's plain
 *    `parse` of the same texts (the YAML alone, no validation), same run, alternated.
 *  - `manifests.resolve`: `resolve` of the 1,000 parsed manifests (needs, semver, missing with
 *    paths, cycles); baseline: the parse of all 1,000 (how resolving compares with reading).
 *  - `manifests.hot.workflow` / `manifests.hot.tool`: a hot reload — one manifest's text changed
 *    (its description) → `parseManifest` of it → swap it into the parsed set → `resolve` of the
 *    whole graph; baseline: `parseManifest` of that one text alone, alternated. The changed
 *    manifest rotates over the Workflows (resp. Tools) of the set.
 *
 * A kernel-level hot-reload figure (commands, events, projections) is separate and can reuse the
 * same generator.
 */
import { parse as parseYaml } from 'yaml';
import { parseManifest, type Manifest } from '../../../worker/manifests/parse.ts';
import { resolve } from '../../../worker/manifests/registry.ts';
import { editedText, generateManifestSet, type GeneratedKind } from '../../helpers/manifest-set.ts';
import { figure, type Figure } from './scenarios.ts';
import { median, now } from './stats.ts';

export const MANIFEST_COUNT = 1000;

function parseOrThrow(text: string): Manifest {
  const r = parseManifest(text);
  if (!r.ok) throw new Error(`manifests bench: a generated manifest was refused: ${r.errors[0]?.message ?? '?'}`);
  return r.manifest;
}

export function benchManifests(quick: boolean, log: (m: string) => void): Figure[] {
  const reps = quick ? 3 : 9;
  const hotReps = quick ? 10 : 41;
  const set = generateManifestSet({ total: MANIFEST_COUNT });
  log(`manifests: ${set.length} manifests, ${reps} repetitions (hot reload: ${hotReps})`);
  let parsed = set.map((m) => parseOrThrow(m.text)); // warm-up
  const first = resolve(parsed);
  if (first.missing.length > 0 || first.cycles.length > 0) throw new Error('manifests bench: the generated set does not resolve cleanly');
  const edges = [...first.edges.values()].reduce((n, l) => n + l.length, 0);

  const parseAll: number[] = [];
  const yamlAll: number[] = [];
  const resolveAll: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = now();
    for (const m of set) parseYaml(m.text);
    yamlAll.push(now() - t);
    t = now();
    parsed = set.map((m) => parseOrThrow(m.text));
    parseAll.push(now() - t);
    t = now();
    resolve(parsed);
    resolveAll.push(now() - t);
  }

  const hot = (kind: GeneratedKind): { ms: number[]; base: number[] } => {
    const at = set.flatMap((m, i) => (m.kind === kind ? [i] : []));
    const ms: number[] = [];
    const base: number[] = [];
    for (let r = -2; r < hotReps; r++) {
      const i = at[(r + 2) % at.length]!;
      const text = editedText(set[i]!, r + 2);
      let t = now();
      parseOrThrow(text);
      const one = now() - t;
      t = now();
      const next = parsed.slice();
      next[i] = parseOrThrow(text);
      const res = resolve(next);
      const reload = now() - t;
      if (res.missing.length > 0) throw new Error('manifests bench: the edit broke a dependency');
      if (r < 0) continue; // warm-up
      ms.push(reload);
      base.push(one);
    }
    return { ms, base };
  };
  const hw = hot('Workflow');
  const ht = hot('Tool');

  const common = { storage: 'Node', unit: 'ms', target: null } as const;
  const extra = { manifests: set.length, edges };
  return [
    figure({ ...common, id: 'manifests.parse', title: `parseManifest of ${set.length} manifests`, kernel: median(parseAll), baseline: median(yamlAll), baselineName: 'yaml.parse of the same texts', samples: { kernel: parseAll, baseline: yamlAll }, extra }),
    figure({ ...common, id: 'manifests.resolve', title: `resolve of ${set.length} manifests (${edges} needs)`, kernel: median(resolveAll), baseline: median(parseAll), baselineName: `parseManifest of all ${set.length}`, samples: { kernel: resolveAll, baseline: parseAll }, extra }),
    figure({ ...common, id: 'manifests.hot.workflow', title: 'hot reload: one Workflow manifest changed → parse it → resolve the whole graph', kernel: median(hw.ms), baseline: median(hw.base), baselineName: 'parseManifest of that one manifest', samples: { kernel: hw.ms, baseline: hw.base }, extra }),
    figure({ ...common, id: 'manifests.hot.tool', title: 'hot reload: one Tool manifest changed → parse it → resolve the whole graph', kernel: median(ht.ms), baseline: median(ht.base), baselineName: 'parseManifest of that one manifest', samples: { kernel: ht.ms, baseline: ht.base }, extra }),
  ];
}

/**
 * The workflow canvas graph and layout (src/lib/canvas/graph.ts, layout.ts), on workflows the
 * worker's validator normalised: one node per step, one edge per dependsOn entry and decision
 * branch, loops and parallels as boxes holding their steps; longest-path layers, deterministic,
 * no overlaps, children inside their parent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWorkflow } from '../../../worker/workflow/index.ts';
import { buildGraph, dependencyChoices, keyPattern, type CanvasGraph } from '../../../src/lib/canvas/graph.ts';
import { bestDirection, layer, layoutGraph, SPACING, type Box, type Direction } from '../../../src/lib/canvas/layout.ts';
import { routePath } from '../../../src/lib/canvas/route.ts';
import { EXAMPLES } from '../../../src/lib/examples.ts';
import { fixtureText } from '../workflow/helpers.ts';

function graphOf(yaml: string): CanvasGraph {
  const r = parseWorkflow(yaml);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return buildGraph(r.workflow);
}
const fixture = fixtureText;
const example = (name: string): string => EXAMPLES.find((e) => e.name === name)!.source;
const size = { w: 180, h: 60 };
const lay = (g: CanvasGraph, direction: Direction = 'LR') => layoutGraph(g, { direction, stepSize: () => size });

test('a decision: one node per step with its type, dependsOn edges and labelled then/else edges', () => {
  const g = graphOf(example('decide-and-wait'));
  assert.deepEqual(g.nodes.map((n) => [n.id, n.type]), [['choose', 'decision'], ['quick', 'task'], ['pause', 'wait'], ['summary', 'task']]);
  assert.deepEqual(g.edges.map((e) => [e.source, e.target, e.kind]), [
    ['quick', 'summary', 'dependsOn'], ['pause', 'summary', 'dependsOn'], ['choose', 'quick', 'then'], ['choose', 'pause', 'else'],
  ]);
});

test('a branch step that also names its decision in dependsOn is one labelled edge', () => {
  const g = graphOf('name: x\nversion: 1.0.0\nsteps:\n  - { id: d, type: decision, if: "true", then: a }\n  - { id: a, type: task, runner: transform, dependsOn: [d], with: { value: 1 } }\n');
  assert.deepEqual(g.edges.map((e) => [e.source, e.target, e.kind, e.alsoDependsOn]), [['d', 'a', 'then', true]]);
});

test('parallel: lanes hold their branch steps; loops hold their body; edges stay inside a list', () => {
  const g = graphOf(fixture('parallel.yaml'));
  assert.deepEqual(g.nodes.map((n) => [n.id, n.kind, n.parent]), [
    ['load', 'step', null], ['gather', 'step', null], ['gather#0', 'lane', 'gather'], ['logs', 'step', 'gather#0'],
    ['gather#1', 'lane', 'gather'], ['metrics', 'step', 'gather#1'], ['metrics_summary', 'step', 'gather#1'], ['report', 'step', null],
  ]);
  assert.deepEqual(g.edges.map((e) => e.id), ['metrics->metrics_summary', 'load->gather', 'gather->report']);
  const loop = graphOf(fixture('loop-with-concurrency.yaml'));
  assert.equal(loop.byId.get('resize')?.parent, 'each_image');
  assert.deepEqual(loop.scopes.get('each_image'), ['resize']);
});

test('session step keys: a top-level step, a branch step, a step in a loop iteration', () => {
  const g = graphOf(fixture('parallel.yaml'));
  assert.ok(keyPattern(g.byId.get('metrics')!).test('metrics'));
  const loop = graphOf(fixture('loop-with-concurrency.yaml'));
  const re = keyPattern(loop.byId.get('resize')!);
  assert.ok(re.test('each_image[0].resize') && re.test('each_image[12].resize'));
  assert.ok(!re.test('resize') && !re.test('each_image[0].resize@onStart'));
});

test('dependency choices: same list, not already a dependency, nothing downstream (no cycle)', () => {
  const g = graphOf(example('slow'));
  assert.deepEqual(dependencyChoices(g, 'first'), []);
  assert.deepEqual(dependencyChoices(g, 'third'), ['first']);
  assert.deepEqual(dependencyChoices(g, 'second'), []);
  const p = graphOf(fixture('parallel.yaml'));
  assert.deepEqual(dependencyChoices(p, 'metrics'), [], 'metrics_summary waits for it; logs is in another list');
  assert.deepEqual(dependencyChoices(p, 'load'), []);
});

test('longest-path layers: a step sits one layer after the furthest step it waits for; a source just before its first dependent', () => {
  const g = graphOf('name: x\nversion: 1.0.0\nsteps:\n' + [
    '  - { id: a, type: task, runner: transform, with: { value: 1 } }',
    '  - { id: b, type: task, runner: transform, dependsOn: [a], with: { value: 1 } }',
    '  - { id: c, type: task, runner: transform, dependsOn: [b], with: { value: 1 } }',
    '  - { id: d, type: task, runner: transform, dependsOn: [a, c, f], with: { value: 1 } }',
    '  - { id: e, type: task, runner: transform, with: { value: 1 } }',
    '  - { id: f, type: task, runner: transform, with: { value: 1 } }',
  ].join('\n') + '\n');
  // f waits for nothing: it sits just before d, its only dependent, not in layer 0.
  assert.deepEqual(Object.fromEntries(layer(g, g.scopes.get('')!)), { a: 0, e: 0, b: 1, c: 2, f: 2, d: 3 });
  const l = lay(g);
  const x = (id: string): number => l.boxes.get(id)!.x;
  assert.ok(x('a') < x('b') && x('b') < x('c') && x('c') < x('d'), 'left to right by layer');
  assert.equal(x('a'), x('e'));
  const t = lay(g, 'TB');
  assert.ok(t.boxes.get('a')!.y < t.boxes.get('d')!.y && t.boxes.get('a')!.y === t.boxes.get('e')!.y, 'top down');
});

test('the layout is deterministic and the same for equal input', () => {
  for (const f of ['parallel.yaml', 'race.yaml', 'loop-with-concurrency.yaml', 'decision.yaml', 'usecases/incident-triage.yaml']) {
    const a = lay(graphOf(fixture(f)));
    const b = lay(graphOf(fixture(f)));
    assert.deepEqual([...a.boxes], [...b.boxes], f);
  }
});

function absolute(g: CanvasGraph, boxes: ReadonlyMap<string, Box>, id: string): Box {
  const b = boxes.get(id)!;
  const parent = g.byId.get(id)!.parent;
  if (parent === null) return b;
  const p = absolute(g, boxes, parent);
  return { ...b, x: b.x + p.x, y: b.y + p.y };
}

test('no two boxes of one list overlap, and every child lies inside its parent', () => {
  for (const direction of ['LR', 'TB'] as const) {
    for (const f of ['parallel.yaml', 'race.yaml', 'loop-with-concurrency.yaml', 'decision.yaml', 'usecases/incident-triage.yaml', 'usecases/code-review.yaml']) {
      const g = graphOf(fixture(f));
      const l = lay(g, direction);
      assert.equal(l.boxes.size, g.nodes.length, `${f}: one box per node`);
      for (const ids of g.scopes.values()) {
        const boxes = ids.map((id) => absolute(g, l.boxes, id));
        for (let i = 0; i < boxes.length; i++) {
          for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i]!;
            const b = boxes[j]!;
            const apart = a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
            assert.ok(apart, `${f} ${direction}: ${ids[i]} and ${ids[j]} overlap`);
          }
        }
      }
      for (const n of g.nodes) {
        if (n.parent === null) continue;
        const c = l.boxes.get(n.id)!;
        const p = l.boxes.get(n.parent)!;
        assert.ok(c.x >= 0 && c.y >= SPACING.laneHeader - 1 && c.x + c.w <= p.w && c.y + c.h <= p.h, `${f} ${direction}: ${n.id} inside ${n.parent}`);
      }
    }
  }
});

test('a parallel is a box with one lane per branch, stacked across the flow', () => {
  const g = graphOf(fixture('parallel.yaml'));
  const l = lay(g);
  const [l0, l1] = [l.boxes.get('gather#0')!, l.boxes.get('gather#1')!];
  assert.equal(l0.x, l1.x);
  assert.ok(l1.y >= l0.y + l0.h, 'lanes stacked vertically left to right');
  assert.equal(l0.w, l1.w, 'lanes equally long');
  const t = lay(g, 'TB');
  assert.ok(t.boxes.get('gather#1')!.x >= t.boxes.get('gather#0')!.x + t.boxes.get('gather#0')!.w, 'side by side top down');
});

test('the direction that shows the graph biggest: left to right on a wide canvas, top down on a phone', () => {
  const chain = graphOf(example('slow'));
  assert.equal(bestDirection(chain, 1000, 400, () => size), 'LR');
  assert.equal(bestDirection(chain, 340, 600, () => size), 'TB');
  assert.equal(bestDirection(chain, 0, 0, () => size), 'LR', 'before the size is known');
});

test('an edge across layers gets a slot in each layer between, clear of every step', () => {
  const g = graphOf('name: x\nversion: 1.0.0\nsteps:\n' + [
    '  - { id: a, type: task, runner: transform, with: { value: 1 } }',
    '  - { id: b, type: task, runner: transform, dependsOn: [a], with: { value: 1 } }',
    '  - { id: c, type: task, runner: transform, dependsOn: [b], with: { value: 1 } }',
    '  - { id: d, type: task, runner: transform, dependsOn: [a, c], with: { value: 1 } }',
    '  - { id: e, type: task, runner: transform, dependsOn: [a], with: { value: 1 } }',
    '  - { id: f, type: task, runner: transform, dependsOn: [a], with: { value: 1 } }',
  ].join('\n') + '\n');
  for (const direction of ['LR', 'TB'] as const) {
    const l = lay(g, direction);
    assert.equal(l.waypoints.get('a->b'), undefined, 'a neighbour layer: no waypoints');
    const w = l.waypoints.get('a->d')!;
    assert.equal(w.length, 4, `${direction}: in and out of the slots in layers 1 and 2`);
    const across = direction === 'LR' ? 'y' : 'x';
    const along = direction === 'LR' ? 'x' : 'y';
    assert.equal(w[0]![across], w[1]![across], 'straight through a slot');
    for (const box of l.boxes.values()) {
      for (let i = 0; i < w.length; i += 2) {
        const [lo, hi] = [w[i]![along], w[i + 1]![along]];
        const c = w[i]![across];
        const boxAlong = direction === 'LR' ? [box.x, box.x + box.w] : [box.y, box.y + box.h];
        const boxAcross = direction === 'LR' ? [box.y, box.y + box.h] : [box.x, box.x + box.w];
        const overlaps = boxAlong[0]! < hi && boxAlong[1]! > lo && c > boxAcross[0]! && c < boxAcross[1]!;
        assert.ok(!overlaps, `${direction}: the slot at ${c} runs through a step`);
      }
    }
  }
});

test('the edge path: from the source through the slots to the target, straight inside a slot', () => {
  const r = routePath('LR', { x: 0, y: 0 }, { x: 300, y: 40 }, [{ x: 100, y: 80 }, { x: 200, y: 80 }]);
  assert.equal(r.path, 'M 0 0 C 50 0 50 80 100 80 L 200 80 C 250 80 250 40 300 40');
  assert.deepEqual([r.labelX, r.labelY], [50, 40]);
  assert.equal(routePath('TB', { x: 0, y: 0 }, { x: 0, y: 90 }, []).path, 'M 0 0 L 0 90');
});

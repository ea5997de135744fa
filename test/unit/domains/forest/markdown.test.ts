/**
 * Markdown import/export (worker/domains/forest/markdown.ts).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ForestLink, ForestNode } from '../../../../worker/domains/forest/index.ts';
import { exportMarkdown, importMarkdown, importMarkdownInto, type MarkdownFile } from '../../../../worker/domains/forest/markdown.ts';
import { eventCount, type Kernel } from '../../../helpers/kernel.ts';
import { withMem } from './helpers.ts';

const folder: MarkdownFile[] = [
  { path: 'notes/deploy.md', text: '---\ntags:\n  - Ops\n  - CI\n---\n# Deploy Guide\n\nSee [[Runbook]] and [[runbook|the runbook]], also [[Missing Page]].\n' },
  { path: 'notes/runbook.md', text: '# Runbook\n\nSteps. Back to [[deploy guide]].\n' },
  { path: 'notes/plain.md', text: 'No heading here, mentions [[Nowhere]].' },
];

type Got = { node: ForestNode; outgoing: ForestLink[]; incoming: ForestLink[] };
const titles = (k: Kernel) => k.sql.all("SELECT id, title FROM forest_nodes WHERE status = 'active' ORDER BY title COLLATE NOCASE").map((r) => String(r['title']));

describe('forest markdown', () => {
  test('importMarkdown is pure and deterministic, and reports unknown targets', () => {
    const a = importMarkdown(folder);
    const b = importMarkdown([...folder].reverse());
    assert.deepEqual(a, b);
    assert.deepEqual(a.nodes.map((n) => n.title), ['Deploy Guide', 'plain', 'Runbook']);
    assert.deepEqual(a.unresolved, [{ path: 'notes/deploy.md', target: 'Missing Page' }, { path: 'notes/plain.md', target: 'Nowhere' }]);
    assert.equal(a.commands.filter((c) => c.type === 'forest.link.create').length, 2);
  });

  test('import runs as one batch: nodes, tags, mentions links and backlinks; a re-run appends nothing', () =>
    withMem((k) => {
      const r = importMarkdownInto(k, folder);
      assert.deepEqual(titles(k), ['Deploy Guide', 'plain', 'Runbook']);
      const deploy = r.nodes.find((n) => n.title === 'Deploy Guide')!.id;
      const runbook = r.nodes.find((n) => n.title === 'Runbook')!.id;
      const got = k.query('forest.node.get', { id: deploy }) as Got;
      assert.deepEqual(got.node.tags, ['ops', 'ci']);
      assert.deepEqual(got.outgoing.map((l) => [l.to, l.type]), [[runbook, 'mentions']]);
      assert.deepEqual(got.incoming.map((l) => [l.from, l.type]), [[runbook, 'mentions']]);
      const events = eventCount(k);
      const again = importMarkdownInto(k, folder);
      assert.equal(again.appended, 0);
      assert.equal(eventCount(k), events);
      // A changed file updates the same node.
      const changed = importMarkdownInto(k, [{ path: 'notes/runbook.md', text: '# Runbook\n\nNew steps.\n' }]);
      assert.equal(changed.nodes[0]!.action, 'update');
      assert.equal((k.query('forest.node.get', { id: runbook }) as Got).node.body, '# Runbook\n\nNew steps.');
    }));

  test('a failing file rolls the whole import back', () =>
    withMem((k) => {
      const bad = [...folder, { path: 'huge.md', text: `# ${'x'.repeat(400)}` }];
      const plan = importMarkdown(bad);
      assert.equal(plan.nodes.find((n) => n.path === 'huge.md')!.title.length, 300);
      const tooBig = [...folder, { path: 'big.md', text: 'é'.repeat(600_000) }];
      assert.throws(() => importMarkdownInto(k, tooBig), { code: 'invalid_payload' });
      assert.deepEqual(titles(k), []);
    }));

  test('export → import round trip keeps title, body, tags, metadata and typed links', () =>
    withMem(async (k) => {
      importMarkdownInto(k, folder);
      const ids = k.sql.all("SELECT id FROM forest_nodes WHERE status = 'active' ORDER BY title COLLATE NOCASE").map((r) => String(r['id']));
      k.command({ type: 'forest.link.create', payload: { from: ids[0]!, to: ids[1]!, type: 'derived_from' }, idempotencyKey: 'l1' });
      k.command({ type: 'forest.node.update', payload: { nodeId: ids[1]!, metadata: { source: 'web', n: 2 } }, idempotencyKey: 'u1' });
      const gots = ids.map((id) => k.query('forest.node.get', { id }) as Got);
      const files = gots.map((g) => exportMarkdown(g.node, g.outgoing));
      assert.equal(files[0]!.path, 'deploy-guide.md');
      assert.match(files[0]!.text, /^---\nid: /);
      assert.match(files[0]!.text, /- derived_from: \[\[plain\]\]/);

      const { memKernel } = await import('../../../helpers/kernel.ts');
      const k2 = await memKernel();
      try {
        const r = importMarkdownInto(k2, files);
        assert.deepEqual(r.unresolved.map((u) => u.target), ['Missing Page', 'Nowhere']); // still unknown, still only reported
        for (const g of gots) {
          const g2 = k2.query('forest.node.get', { id: g.node.id }) as Got;
          assert.equal(g2.node.title, g.node.title);
          assert.equal(g2.node.body, g.node.body);
          assert.deepEqual(g2.node.tags, g.node.tags);
          assert.deepEqual(g2.node.metadata, g.node.metadata);
          assert.deepEqual(g2.outgoing.map((l) => [l.to, l.type]).sort(), g.outgoing.map((l) => [l.to, l.type]).sort());
        }
      } finally {
        await k2.close();
      }
    }));
});

/**
 * What a manifest (worker/manifests) or a workflow file depends on: `imports`, each a kind, a name
 * and a semver range. It lives here, under the workflow parser, because a workflow file may carry
 * the manifest header (`kind: Workflow`, `imports:`) itself: the workflow library is the one home
 * of Workflow manifests, so the same text is valid in both places (docs/manifests.md).
 *
 * Invariants:
 * 1. Names are lowercase words with dots between them (`runner.deploy`); ranges are what semver's
 *    `validRange` accepts; both bounded.
 */
import '../kernel/zod-setup.ts';
import { z } from 'zod';
import { validRange } from 'semver';

export const MANIFEST_KINDS = ['Workflow', 'Kata', 'Agent', 'Tool', 'Relic', 'Monument'] as const;
export type ManifestKind = (typeof MANIFEST_KINDS)[number];

/** `deploy-service`, `runner.deploy`, `finance.audit`: lowercase words, dots allowed. */
export const MANIFEST_NAME = /^[a-z][a-z0-9_-]{0,63}(?:\.[a-z][a-z0-9_-]{0,63}){0,3}$/;

export const manifestName = z.string().regex(MANIFEST_NAME, { error: 'expected a name like deploy-service or runner.deploy: lowercase words, dots between them' });
export const versionRange = z.string().max(200).refine((r) => validRange(r) !== null, { error: 'expected a version range like ^1.2.0, >=1.0.0 <2.0.0 or *' });

export const importSchema = z.strictObject({
  kind: z.enum(MANIFEST_KINDS),
  name: manifestName,
  version: versionRange.default('*'),
});
export type ManifestImport = z.infer<typeof importSchema>;

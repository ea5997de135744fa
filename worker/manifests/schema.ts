/**
 * Manifest kinds (docs/manifests.md): YAML files that declare what exists — a Workflow, a Kata
 * (a packaged workflow with what it needs), an Agent, a Tool (a named http or transform runner
 * with typed parameters: `runner: runner.deploy` in a workflow resolves to one), a Relic (an
 * external service: endpoints and a health check) and a Monument (a composition of the others
 * with a start order and conditions).
 *
 * Every kind has `kind`, `name`, `version` (semver) and `imports` (what it depends on: kind, name
 * and a semver range), which the registry (registry.ts) resolves.
 *
 * Invariants:
 * 1. Strict and bounded, as the workflow schema: unknown keys are refused with a did-you-mean,
 *    strings and lists have maximum sizes.
 * 2. A Workflow manifest is a workflow file with `kind: Workflow`; its body is checked by the
 *    workflow validator (parse.ts), not here.
 */
import '../kernel/zod-setup.ts';
import { z } from 'zod';
import { SEMVER_PATTERN } from '../workflow/schema.ts';
import { parseDuration } from '../workflow/duration.ts';
import { importSchema, manifestName as name, versionRange as range } from '../workflow/imports.ts';

export { importSchema, MANIFEST_KINDS, MANIFEST_NAME, type ManifestImport, type ManifestKind } from '../workflow/imports.ts';

const version = z.string().regex(SEMVER_PATTERN, { error: 'expected a semantic version like "1.0.0"' });
const text = (max: number) => z.string().max(max);
const names = z.array(z.string().min(1).max(200)).max(100);
const duration = z.union([z.number().int().min(1), z.string().max(40)]).refine((v) => parseDuration(v).ok, { error: 'expected a duration like 30s, 5m or 1h' });

const base = {
  name,
  version,
  description: text(10_000).optional(),
  author: text(200).optional(),
  imports: z.array(importSchema).max(200).default([]),
};

const parameter = z.strictObject({
  type: z.enum(['string', 'number', 'boolean', 'object', 'array']),
  required: z.boolean().default(false),
  description: text(2000).optional(),
  enum: z.array(z.unknown()).min(1).max(1000).optional(),
  default: z.unknown().optional(),
});

export const toolSchema = z.strictObject({
  kind: z.literal('Tool'),
  ...base,
  /** The built-in runner the tool wraps. */
  runner: z.enum(['http', 'transform']),
  parameters: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), parameter).default({}),
  /** For `runner: http`: the request, templates over `params.<name>` and `secrets.<NAME>`. */
  http: z.strictObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('POST'),
    url: text(4000).min(1),
    headers: z.record(z.string().min(1).max(200), text(10_000)).default({}),
    body: z.unknown().optional(),
  }).optional(),
  /** For `runner: transform`: the expression over `params`. */
  transform: z.strictObject({ expression: text(4000).min(1) }).optional(),
}).refine((t) => (t.runner === 'http' ? t.http !== undefined : t.transform !== undefined), { error: 'a Tool with runner: http needs an http: block, with runner: transform a transform: block' });

export const agentSchema = z.strictObject({
  kind: z.literal('Agent'),
  ...base,
  persona: text(20_000).min(1),
  model: z.strictObject({ provider: text(100).optional(), name: text(200).min(1) }),
  tools: names.default([]),
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  maxTurns: z.number().int().min(1).max(50).default(8),
});

export const relicSchema = z.strictObject({
  kind: z.literal('Relic'),
  ...base,
  endpoints: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/), z.url({ protocol: /^https?$/ })).refine((e) => Object.keys(e).length > 0, { error: 'name at least one endpoint' }),
  health: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    every: duration.default('1m'),
    timeout: duration.default('5s'),
    expectStatus: z.number().int().min(100).max(599).default(200),
  }),
});

const component = z.strictObject({ kind: z.enum(['Relic', 'Agent', 'Tool', 'Workflow', 'Kata']), name, version: range.default('*') });

export const monumentSchema = z.strictObject({
  kind: z.literal('Monument'),
  ...base,
  components: z.array(component).min(1).max(100),
  /** Names of components in the order they come up; a list inside is a group brought up together. */
  startOrder: z.array(z.union([name, z.array(name).min(1).max(50)])).max(100).default([]),
  /** `<component>: { <other component>: installed | healthy }`: what must hold before it starts. */
  conditions: z.record(name, z.record(name, z.enum(['installed', 'healthy']))).default({}),
});

export const kataSchema = z.strictObject({
  kind: z.literal('Kata'),
  ...base,
  /** The Workflow manifest the kata runs (also an import). */
  workflow: name,
  tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/)).max(20).default([]),
  complexity: z.enum(['simple', 'moderate', 'complex']).default('simple'),
  requires: z.strictObject({ kingdom: range.default('*'), runners: names.default([]), skills: names.default([]) }).default({ kingdom: '*', runners: [], skills: [] }),
  capabilities: z.strictObject({ hosts: names.default([]), runners: names.default([]), secrets: names.default([]) }).default({ hosts: [], runners: [], secrets: [] }),
});

export const SCHEMAS = { Tool: toolSchema, Agent: agentSchema, Relic: relicSchema, Monument: monumentSchema, Kata: kataSchema } as const;

export type ToolManifest = z.infer<typeof toolSchema>;
export type AgentManifest = z.infer<typeof agentSchema>;
export type RelicManifest = z.infer<typeof relicSchema>;
export type MonumentManifest = z.infer<typeof monumentSchema>;
export type KataManifest = z.infer<typeof kataSchema>;

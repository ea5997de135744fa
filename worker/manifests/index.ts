/**
 * The manifest reader and the registry's resolution as one entry point: what the kernel's
 * manifests domain loads on demand (code.ts), so the first chunk carries neither YAML nor semver.
 */
export { parseManifest, type Manifest, type ManifestResult } from './parse.ts';
export { resolve, dependentsOf, graphJson, graphMermaid, keyOf, needsOf, BUILTIN_RUNNERS, type Key, type Need, type Resolution } from './registry.ts';
export { checkExecution, checkParams, withDefaults, type ExecutionCheck, type Installed, type ParamProblem, type Pin } from './execution.ts';
export { compare, maxSatisfying } from 'semver';

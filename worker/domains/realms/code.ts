/**
 * The realms domain's code that loads on demand (worker/kernel/code-part.ts): the pack reader
 * (zod, the manifest parser), semver, and the install, uninstall, discovery and export logic, so
 * the worker's first chunk carries only the slice's schemas, projection and thin definitions.
 */
import { CodePart } from '../../kernel/code-part.ts';

export const realmCode = new CodePart('realm code', () => import('./lazy.ts'));

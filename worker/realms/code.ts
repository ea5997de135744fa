/**
 * The realm code the kernel's realms domain loads on demand (worker/kernel/code-part.ts): the pack
 * reader (zod, the manifest parser) and semver, so the worker's first chunk carries neither.
 */
import { CodePart } from '../kernel/code-part.ts';

export const realmCode = new CodePart('realm pack reader', () => import('./kernel-code.ts'));

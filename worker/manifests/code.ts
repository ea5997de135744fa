/**
 * The manifest reader and registry (index.ts: YAML, zod schemas, semver) as code that loads on
 * demand (worker/kernel/code-part.ts), like the workflow parser (worker/workflow/code.ts).
 */
import { CodePart } from '../kernel/code-part.ts';

export const manifestCode = new CodePart('manifest reader', () => import('./index.ts'));

/**
 * The workflow parser and validator (index.ts: YAML, schema, graph, expressions, inputs) as code
 * that loads on demand (worker/kernel/code-part.ts): the commands and queries that parse a
 * workflow name it in `needs`, so the kernel worker's first chunk carries neither the parser nor
 * its YAML library. The engine imports index.ts itself (its chunk loads after the kernel is ready).
 */
import { CodePart } from '../kernel/code-part.ts';

export const workflowCode = new CodePart('workflow parser', () => import('./index.ts'));

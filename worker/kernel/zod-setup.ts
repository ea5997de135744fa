/**
 * Imported before any schema is built: zod 4 probes `Function` for a JIT (`const F = Function;
 * new F(...)`), which a strict CSP reports as a violation. jitless mode never touches it.
 */
import { z } from 'zod';

z.config({ jitless: true });

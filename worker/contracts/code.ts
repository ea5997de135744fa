/**
 * The cron calculator (schedule.ts and croner) as code that loads on demand
 * (worker/kernel/code-part.ts): the contract commands and queries that read a cron expression name
 * it in `needs`, so the kernel worker's first chunk does not carry croner. The scheduler
 * (scheduler.ts) imports schedule.ts itself: it starts after the kernel is ready, like the engine.
 */
import { CodePart } from '../kernel/code-part.ts';

export const scheduleCode = new CodePart('cron calculator', () => import('./schedule.ts'));

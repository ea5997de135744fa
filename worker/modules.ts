/**
 * The domain modules every Kingdom kernel loads (browser and Node alike).
 */
import type { KernelModule } from './kernel/module.ts';
import { workspacesModule } from './domains/workspaces/index.ts';
import { sessionsModule } from './engine/sessions/index.ts';
import { secretsModule } from './engine/secrets/module.ts';
import { forestModule } from './forest/index.ts';
import { providersModule } from './engine/providers/module.ts';

export const DEFAULT_MODULES: readonly KernelModule[] = [workspacesModule, sessionsModule, secretsModule, providersModule, forestModule];

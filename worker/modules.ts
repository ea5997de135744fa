/**
 * The domain modules every Kingdom kernel loads (browser and Node alike).
 */
import type { KernelModule } from './kernel/module.ts';
import { workspacesModule } from './domains/workspaces/index.ts';
import { sessionsModule } from './domains/sessions/index.ts';
import { manifestsModule } from './domains/manifests/index.ts';
import { secretsModule } from './domains/secrets/index.ts';
import { forestModule } from './domains/forest/index.ts';
import { providersModule } from './domains/providers/index.ts';
import { syncModule } from './domains/sync/index.ts';
import { policiesModule } from './domains/policies/index.ts';
import { contractsModule } from './domains/contracts/index.ts';
import { realmsModule } from './domains/realms/index.ts';
import { dojoModule } from './domains/dojo/index.ts';

export const DEFAULT_MODULES: readonly KernelModule[] = [workspacesModule, sessionsModule, secretsModule, providersModule, forestModule, syncModule, manifestsModule, policiesModule, contractsModule, realmsModule, dojoModule];

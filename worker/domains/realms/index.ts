/**
 * The realms slice (docs/realms.md): realms registered with their pinned roots, the trust state
 * of each (every accepted index, every `name@version → sha256` seen, pinned publisher keys, on
 * every device), discovery with compatibility, gated installs with receipts, uninstall.
 *
 * Network and WebCrypto (async) run outside the kernel, in the realm service
 * (worker/services/realm-service.ts), which issues the internal commands with what it fetched and
 * verified; decisions here are synchronous and re-check what they can against the log.
 *
 * Invariants:
 * 1. Realm events are not workspace-scoped (never in a workspace file); installs write the
 *    manifests domain's own events (workspace-scoped) plus a receipt.
 * 2. The eagerly loaded part is small: pack reading, manifest parsing and semver load on demand
 *    (realmCode, manifestCode, workflowCode).
 */
import type { KernelModule } from '../../kernel/module.ts';
import { realmCommands, realmEvents } from './commands.ts';
import { installCommands, installEvents } from './install.ts';
import { realmQueries } from './queries.ts';
import { applyRealmEvent, REALM_SQL, REALM_TABLES } from './state.ts';

const events = [...realmEvents, ...installEvents];

export const realmsModule = {
  name: 'realms',
  commands: [...realmCommands, ...installCommands],
  events,
  projections: [{
    name: 'realms',
    version: 1,
    tables: REALM_TABLES,
    createSql: REALM_SQL,
    eventTypes: events.map((e) => e.type),
    apply: applyRealmEvent,
  }],
  queries: realmQueries,
} satisfies KernelModule;

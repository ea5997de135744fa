/**
 * Everything the realms domain loads on demand (code.ts): one entry point for the pack reader,
 * compatibility, and the install / uninstall / discovery / export logic.
 */
export * from '../../realms/kernel-code.ts';
export { presentOf, capabilityDiff, loadRequest, loadComplete, decideComplete, loadUninstall, decideUninstall } from './install-logic.ts';
export { katas, incidents, exportPack } from './query-logic.ts';

/**
 * This Kingdom's version, what a kata's `kingdom` range is judged against (docs/realms.md,
 * "Discovery and compatibility"). Equal to package.json's version (test/unit/realms/domain.test.ts).
 */
export const KINGDOM_VERSION = '0.1.0';

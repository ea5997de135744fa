/**
 * The id of the default workspace, alone in a dependency-free module so the UI bundle can import
 * it without the slice (and zod). See scope.ts.
 */
export const DEFAULT_WORKSPACE_ID = '00000000-0000-4000-8000-000000000000';

/** Svelte compiler options shared by vite-plugin-svelte and svelte-check. */
export default {
  compilerOptions: {
    // Every component in src/ uses runes; fail loudly on legacy reactive syntax.
    runes: true,
  },
};

/**
 * The Realms screen's views, each its own chunk (loaded by LazyPage in src/pages/RealmsPage.svelte):
 * a link to the Dojo does not load the install flow, and the other way round.
 */
import type { PageLoader } from '../pages.ts';

export const realmViews = {
  list: () => import('../../components/realms/RealmList.svelte'),
  browse: () => import('../../components/realms/KataBrowse.svelte'),
  kata: () => import('../../components/realms/KataDetail.svelte'),
  install: () => import('../../components/realms/InstallRequest.svelte'),
  installed: () => import('../../components/realms/InstalledList.svelte'),
  dojo: () => import('../../components/realms/Dojo.svelte'),
} satisfies Record<string, PageLoader>;

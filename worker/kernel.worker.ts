/**
 * The kernel worker: one per tab. It joins the database-owner election and exposes the
 * `KingdomApi` to its page through Comlink. `?storage=memory` on the worker URL forces memory.
 */
import * as Comlink from 'comlink';
import { BrowserRuntime } from './browser/runtime.ts';

const params = new URL(self.location.href).searchParams;
const runtime = new BrowserRuntime({
  memory: params.get('storage') === 'memory',
  ...(params.get('checkpointEvery') ? { checkpointEvery: Number(params.get('checkpointEvery')) } : {}),
});
void runtime.start();
Comlink.expose(runtime.api);

/**
 * The storage contract page: spawns contract workers on demand and lets the Node test drive them
 * through `window.e2e` (page.evaluate cannot carry Comlink proxies, so workers are kept here and
 * addressed by index).
 */
import * as Comlink from 'comlink';
import type { ContractWorkerApi } from './contract.worker.ts';

const workers: { worker: Worker; api: Comlink.Remote<ContractWorkerApi> }[] = [];

function spawn(): number {
  const worker = new Worker(new URL('./contract.worker.ts', import.meta.url), { type: 'module', name: `contract-${workers.length}` });
  workers.push({ worker, api: Comlink.wrap<ContractWorkerApi>(worker) });
  return workers.length - 1;
}

function get(i: number): Comlink.Remote<ContractWorkerApi> {
  const w = workers[i];
  if (!w) throw new Error(`no worker ${i}`);
  return w.api;
}

const e2e = {
  spawn,
  runContract: (i: number, kind: 'opfs' | 'memory', prefix: string) => get(i).runContract(kind, prefix),
  open: (i: number, file: string) => get(i).open(file),
  exec: (i: number, sql: string) => get(i).exec(sql),
  close: (i: number) => get(i).close(),
  /** Kill a worker without letting it close anything (like a crashed tab). */
  terminate: (i: number) => workers[i]?.worker.terminate(),
};

declare global {
  interface Window {
    e2e: typeof e2e;
  }
}

window.e2e = e2e;
document.getElementById('status')!.dataset['ready'] = 'true';

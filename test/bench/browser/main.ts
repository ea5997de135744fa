/**
 * The bench page: starts the module worker, forwards its progress to the console (run.ts prints
 * it) and exposes the outcome as `window.__kingdomBench`.
 */
import type { BrowserBenchConfig, PageResult, WorkerMessage } from './protocol.ts';

declare global {
  interface Window {
    __kingdomBench?: PageResult;
  }
}

const params = new URLSearchParams(location.search);
const config: BrowserBenchConfig = {
  quick: params.get('quick') === '1',
  parts: (params.get('parts') ?? 'batch,single,boot').split(',').filter(Boolean),
};
const logEl = document.getElementById('log');
const log = (m: string) => {
  console.log(`[bench-worker] ${m}`);
  if (logEl) logEl.textContent += `\n${m}`;
};

window.__kingdomBench = { done: false };
const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
  const m = ev.data;
  if (m.kind === 'log') log(m.message);
  else if (m.kind === 'done') window.__kingdomBench = { done: true, figures: m.figures, info: m.info };
  else window.__kingdomBench = { done: true, error: m.message };
};
worker.onerror = (ev) => {
  window.__kingdomBench = { done: true, error: `worker error: ${ev.message}` };
};
worker.postMessage(config);

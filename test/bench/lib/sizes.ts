/**
 * Benchmark sizes: full (npm run bench) and quick (npm run bench -- --quick, a smoke test).
 * Shared by Node and the browser worker so both run the same workload.
 */
export interface Sizes {
  readonly batch: { readonly batches: number; readonly batchSize: number; readonly reps: number; readonly warmupBatches: number };
  readonly single: { readonly warmup: number; readonly count: number };
  readonly boot: { readonly events: number; readonly reps: number };
  readonly rebuild: { readonly reps: number };
  readonly breakdownN: number;
}

export function sizes(quick: boolean): Sizes {
  return quick
    ? {
        batch: { batches: 10, batchSize: 100, reps: 3, warmupBatches: 10 },
        single: { warmup: 30, count: 60 },
        boot: { events: 5_000, reps: 3 },
        rebuild: { reps: 1 },
        breakdownN: 500,
      }
    : {
        batch: { batches: 40, batchSize: 100, reps: 7, warmupBatches: 40 },
        single: { warmup: 30, count: 300 },
        boot: { events: 100_000, reps: 9 },
        rebuild: { reps: 3 },
        breakdownN: 3000,
      };
}

/**
 * The implementations the runner can measure, selected with `--impl <name>`.
 *
 * An implementation is two things:
 *  - a pod module (`podModule`, absolute path of a .ts file) that calls `runPod(factory)` from
 *    ./pod-protocol at load; the runner forks it once per pod;
 *  - a setup (`ImplSetup`, ./impl-setup.ts) that runs in the runner process before the pods
 *    start: it registers the workload's schedules in Redis (and may clean up after).
 * Everything else (timing, metrics, table, JSON) is shared.
 */
import * as path from 'node:path';
import type { ImplSetup } from './impl-setup';

export interface Implementation {
  name: string;
  podModule: string;
  setup: ImplSetup;
}

/** Lazily loaded, so a missing or broken implementation does not break the others. */
export const IMPLEMENTATIONS: Record<string, () => Implementation> = {
  bullmq: () => ({
    name: 'bullmq',
    podModule: path.join(__dirname, 'bullmq-pod.ts'),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setup: (require('./bullmq-setup') as typeof import('./bullmq-setup')).bullmqSetup,
  }),

  // ------------------------------------------------------------------ EXTENSION POINT: 'ours'
  // nestjs-redis-scheduler: ./ours-pod.ts (a Nest application context with
  // RedisSchedulerModule and a @ScheduleHandler('bench') provider) and ./ours-setup.ts
  // (SchedulerService.upsertMany from a `worker: false` context). Knobs: ./ours-options.ts.
  ours: () => ({
    name: 'ours',
    podModule: path.join(__dirname, 'ours-pod.ts'),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setup: (require('./ours-setup') as typeof import('./ours-setup')).oursSetup,
  }),
  // The same with the module's runHistory at 20 (ours-history-pod.ts), to measure what keeping
  // the run history costs: `--impl ours,ours-history --opt runHistory=0`.
  'ours-history': () => ({
    name: 'ours-history',
    podModule: path.join(__dirname, 'ours-history-pod.ts'),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setup: (require('./ours-setup') as typeof import('./ours-setup')).oursSetup,
  }),
  // ours with the metrics and tracing integrations on (./ours-obs-pod.ts), for `--observability`.
  'ours-obs': () => ({
    name: 'ours-obs',
    podModule: path.join(__dirname, 'ours-obs-pod.ts'),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setup: (require('./ours-setup') as typeof import('./ours-setup')).oursSetup,
  }),
  // ours in an app that traces (SDK + context manager) but without the integrations (./ours-sdk-pod.ts).
  'ours-sdk': () => ({
    name: 'ours-sdk',
    podModule: path.join(__dirname, 'ours-sdk-pod.ts'),
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    setup: (require('./ours-setup') as typeof import('./ours-setup')).oursSetup,
  }),
  // The same with the PostgreSQL store (ours-store-pod.ts; setup registers through it), to
  // measure what the store and its run history cost: `--impl ours,ours-store`.
  'ours-store': () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { oursSetup } = require('./ours-setup') as typeof import('./ours-setup');
    const withStore = (ctx: Parameters<ImplSetup['register']>[0]) => ({
      ...ctx,
      options: { ...ctx.options, storeUrl: ctx.options['ours-store.storeUrl'] },
    });
    return {
      name: 'ours-store',
      podModule: path.join(__dirname, 'ours-store-pod.ts'),
      setup: {
        ...oursSetup,
        register: (ctx) => oursSetup.register(withStore(ctx)),
        teardown: (ctx) => oursSetup.teardown?.(withStore(ctx)) ?? Promise.resolve(),
      },
    };
  },
  // ------------------------------------------------------------------------------------------
};

/**
 * `--observability` runs these in this order (per round) and prints the pod CPU per run of
 * ours-obs over ours (the target) and over ours-sdk (the integrations' own share).
 */
export const OBSERVABILITY = ['ours', 'ours-sdk', 'ours-obs'];

/** `--impl both` runs these in this order and prints ours/bullmq ratios. */
export const BOTH = ['bullmq', 'ours'];

export function getImplementation(name: string): Implementation {
  const make = IMPLEMENTATIONS[name];
  if (!make) {
    throw new Error(
      `unknown or not yet plugged-in implementation '${name}' (available: ${Object.keys(IMPLEMENTATIONS).join(', ')}; ` +
        `see the EXTENSION POINT in test/bench/impls.ts)`,
    );
  }
  return make();
}

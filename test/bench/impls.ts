/**
 * The implementations the runner can measure, selected with `--impl <name>`.
 *
 * An implementation is two things:
 *  - a pod module (`podModule`, absolute path of a .ts file) that calls `runPod(factory)` from
 *    ./pod-protocol at load; the runner forks it once per pod;
 *  - a setup (`ImplSetup`) that runs in the runner process before the pods start: it registers
 *    the workload's schedules in Redis (and may clean up after).
 * Everything else (timing, metrics, table, JSON) is shared.
 */
import * as path from 'node:path';
import type { RedisEndpoint } from './endpoint';
import type { BenchRedis } from './bench-redis';
import { ScheduleSpec, Workload } from './workloads';

/** `redisUrl`, and in cluster mode `clusterNodes` (connect with a Cluster client: ./endpoint.ts). */
export interface SetupContext extends RedisEndpoint {
  /** The runner's private Redis (server or cluster): per-node clients, do not quit them. */
  redis: BenchRedis;
  workload: Workload;
  schedules: ScheduleSpec[];
  /** `--opt key=value` pairs from the command line (also given to the pods). */
  options: Record<string, string>;
  /**
   * Wall-clock time (nowMs) by which registration should stop, if any (registry workload's
   * `--register-budget`): a setup that cannot register everything in time stops early and
   * returns how many it stored (schedules [0, registered) of the list).
   */
  deadlineMs?: number;
}

export interface RegisterOutcome {
  /** Schedules stored: the first `registered` of ctx.schedules. */
  registered: number;
  /** Time spent storing them, ms, without opening/closing the client or app (for the rate). */
  storeMs?: number;
}

export interface ImplSetup {
  /**
   * Store every schedule of `ctx.schedules` so that pods started afterwards run them
   * (void = all of them; see SetupContext.deadlineMs).
   */
  register(ctx: SetupContext): Promise<void | RegisterOutcome>;
  /** Optional cleanup after the pods stopped (the runner FLUSHALLs afterwards anyway). */
  teardown?(ctx: SetupContext): Promise<void>;
  /** Version string recorded in the JSON (e.g. the package version). */
  version?(): string;
}

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
  // ------------------------------------------------------------------------------------------
};

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

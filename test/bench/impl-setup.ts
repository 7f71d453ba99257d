/**
 * What an implementation's setup is: the contract between the runner and ./bullmq-setup.ts,
 * ./ours-setup.ts (and any other setup). Its own file so that the setups do not import the
 * registry that loads them (./impls.ts).
 */
import type { BenchRedis } from './bench-redis';
import type { RedisEndpoint } from './endpoint';
import type { ScheduleSpec, Workload } from './workloads';

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

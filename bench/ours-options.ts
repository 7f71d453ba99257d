/**
 * nestjs-redis-scheduler knobs shared by ours-setup.ts and ours-pod.ts, read from `--opt key=value`.
 * Each key may be given as `ours.<key>` (ours only) or `<key>`; `concurrency` without the prefix
 * is shared with the BullMQ side (its Worker concurrency).
 *
 *   keyPrefix=bench          module keyPrefix
 *   concurrency=<n>          module `concurrency` (runs in flight per pod)      default: module's (100)
 *   batchSize=<n>            module `batchSize` (runs claimed per script call)  default: module's (200)
 *   partitions=<n>           module `partitions` (due-index partitions)        default: module's (1)
 *   leaseMs=<n>, maxIdleMs=<n>                                                  default: module's
 *   registerChunk=10000      schedules per SchedulerService.upsertMany call (setup)
 *   registerParallel=1       upsertMany calls in flight at once (setup)
 */
import type { RedisSchedulerModuleOptions } from '../lib';

export interface OursBenchOptions {
  keyPrefix: string;
  module: Pick<
    RedisSchedulerModuleOptions,
    'concurrency' | 'batchSize' | 'partitions' | 'leaseMs' | 'maxIdleMs'
  >;
  registerChunk: number;
  registerParallel: number;
}

const MODULE_KEYS = ['concurrency', 'batchSize', 'partitions', 'leaseMs', 'maxIdleMs'] as const;

function pick(opts: Record<string, string>, key: string): string | undefined {
  return opts[`ours.${key}`] ?? opts[key];
}

function int(opts: Record<string, string>, key: string, min: number): number | undefined {
  const raw = pick(opts, key);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min)
    throw new Error(`--opt ${key}: '${raw}' must be an integer ≥ ${min}`);
  return n;
}

export function oursOptions(opts: Record<string, string>): OursBenchOptions {
  const module: OursBenchOptions['module'] = {};
  for (const key of MODULE_KEYS) {
    const v = int(opts, key, 1);
    if (v !== undefined) module[key] = v;
  }
  return {
    keyPrefix: pick(opts, 'keyPrefix') ?? 'bench',
    module,
    registerChunk: int(opts, 'registerChunk', 1) ?? 10_000,
    registerParallel: int(opts, 'registerParallel', 1) ?? 1,
  };
}

/** The module options every bench process uses (pods: worker true; setup: worker false). */
export function oursModuleOptions(
  redisUrl: string,
  o: OursBenchOptions,
  worker: boolean,
): RedisSchedulerModuleOptions {
  return {
    redis: redisUrl,
    keyPrefix: o.keyPrefix,
    tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    worker,
    ...o.module,
  };
}

/** The dynamic handler name every bench schedule uses. */
export const BENCH_HANDLER = 'bench';

/**
 * nestjs-redis-scheduler knobs shared by ours-setup.ts and ours-pod.ts, read from `--opt key=value`.
 * Each key may be given as `ours.<key>` (ours only) or `<key>`; `concurrency` without the prefix
 * is shared with the BullMQ side (its Worker concurrency).
 *
 *   keyPrefix=bench          module keyPrefix
 *   concurrency=<n>          module `concurrency` (runs in flight per pod)      default: module's (100)
 *   batchSize=<n>            module `batchSize` (runs claimed per script call)  default: module's (200)
 *   partitions=<n>           module `partitions` (due-index partitions)        default: module's (1);
 *                            with --cluster the runner defaults it to 12 (spread over the shards)
 *   leaseMs=<n>, maxIdleMs=<n>, lookAheadMs=<n> (0 = no look-ahead), maxPendingRuns=<n>
 *                                                                              default: module's
 *   runHistory=<n>           module `runHistory` (runs kept per schedule)        default: module's
 *   registerChunk=10000      schedules per SchedulerService.upsertMany call (setup)
 *   registerParallel=1       upsertMany calls in flight at once (setup)
 *   handlerResult=1          the bench handler returns { status: 200, durationMs } (a run result
 *                            kept in the run history, as the 'http' handler's)
 *   store=postgres           with the PostgreSQL store (issue 12): the runner starts a private
 *                            PostgreSQL and passes its URL on as storeUrl; schema 'bench', emptied
 *                            by the setup before it registers
 */
import type { Cluster } from 'ioredis';
import type { RedisSchedulerModuleOptions } from '../../lib';
import { closeCluster, isCluster, openCluster, RedisEndpoint } from './endpoint';

export interface OursBenchOptions {
  keyPrefix: string;
  module: Pick<
    RedisSchedulerModuleOptions,
    | 'concurrency'
    | 'batchSize'
    | 'partitions'
    | 'leaseMs'
    | 'maxIdleMs'
    | 'lookAheadMs'
    | 'maxPendingRuns'
    | 'runHistory'
  >;
  registerChunk: number;
  registerParallel: number;
  /** PostgreSQL URL of the store, when the run has one. */
  storeUrl?: string;
  /** The bench handler returns a result (`--opt handlerResult=1`). */
  handlerResult: boolean;
}

const MODULE_KEYS = [
  'concurrency',
  'batchSize',
  'partitions',
  'leaseMs',
  'maxIdleMs',
  'lookAheadMs',
  'maxPendingRuns',
  'runHistory',
] as const;

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
    const v = int(opts, key, key === 'lookAheadMs' || key === 'runHistory' ? 0 : 1);
    if (v !== undefined) module[key] = v;
  }
  return {
    keyPrefix: pick(opts, 'keyPrefix') ?? 'bench',
    module,
    registerChunk: int(opts, 'registerChunk', 1) ?? 10_000,
    registerParallel: int(opts, 'registerParallel', 1) ?? 1,
    storeUrl: pick(opts, 'storeUrl'),
    handlerResult: int(opts, 'handlerResult', 0) === 1,
  };
}

/**
 * What a bench process gives the module as `redis`: the URL on a single server (the module owns
 * that connection), an ioredis Cluster in cluster mode (the module does not close an instance it
 * is given: `close` quits it, after the app closed).
 */
export function oursRedis(endpoint: RedisEndpoint): {
  redis: string | Cluster;
  close(): Promise<void>;
} {
  if (!isCluster(endpoint)) return { redis: endpoint.redisUrl, close: async () => undefined };
  const cluster = openCluster(endpoint);
  return { redis: cluster, close: () => closeCluster(cluster) };
}

/** The module options every bench process uses (pods: worker true; setup: worker false). */
export function oursModuleOptions(
  redis: string | Cluster,
  o: OursBenchOptions,
  worker: boolean,
): RedisSchedulerModuleOptions {
  return {
    redis,
    keyPrefix: o.keyPrefix,
    tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    worker,
    ...o.module,
    ...(o.storeUrl ? { store: builtStore(o.storeUrl) } : {}),
  };
}

/** The PostgreSQL store from the built subpath (dist/integrations/postgres). */
function builtStore(connectionString: string): NonNullable<RedisSchedulerModuleOptions['store']> {
  type Postgres = typeof import('../../lib/integrations/postgres');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pg = require('../../dist/integrations/postgres') as Postgres;
  return new pg.PostgresScheduleStore({ connectionString, schema: 'bench' });
}

/** The dynamic handler name every bench schedule uses. */
export const BENCH_HANDLER = 'bench';

/**
 * The built library (dist/, which `npm run bench` builds first), typed as lib/: bench processes
 * load it as an application loads the package, so a pod's start time is the module's and not
 * ts-node compiling lib/ (BullMQ's pods load built code too).
 */
export function builtLibrary(): typeof import('../../lib') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../../dist') as typeof import('../../lib');
}

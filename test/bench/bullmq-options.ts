/**
 * BullMQ knobs shared by bullmq-setup.ts and bullmq-pod.ts, read from `--opt key=value`.
 *
 *   queue=bench                 queue name
 *   concurrency=100             Worker concurrency (per pod)
 *   removeOnComplete=true       true | false | <count to keep>; set on the scheduler's job template
 *   removeOnFail=true           same, for failed jobs
 *   registerLanes=512           upsertJobScheduler calls in flight at once during registration
 *                               (ioredis writes them back to back on one connection: a pipeline)
 *   prefix=<p>                  BullMQ key prefix; default BullMQ's own ('bull'), in cluster mode
 *                               '{bench}': a hash tag, which BullMQ requires on a Cluster (every
 *                               key of a queue in one slot, so the queue lives on one shard)
 */
import type { Cluster } from 'ioredis';
import { closeCluster, isCluster, openCluster, RedisEndpoint } from './endpoint';

export interface BullmqBenchOptions {
  queue: string;
  prefix?: string;
  concurrency: number;
  removeOnComplete: boolean | number;
  removeOnFail: boolean | number;
  registerLanes: number;
}

function keep(v: string | undefined, dflt: boolean | number): boolean | number {
  if (v === undefined) return dflt;
  if (v === 'true') return true;
  if (v === 'false') return false;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`bad keep-jobs value '${v}'`);
  return n;
}

export function bullmqOptions(opts: Record<string, string>): BullmqBenchOptions {
  return {
    queue: opts['queue'] ?? 'bench',
    prefix: opts['prefix'],
    concurrency: Number(opts['concurrency'] ?? 100),
    removeOnComplete: keep(opts['removeOnComplete'], true),
    removeOnFail: keep(opts['removeOnFail'], true),
    registerLanes: Number(opts['registerLanes'] ?? 512),
  };
}

/** ioredis connection options for BullMQ from a redis:// URL (BullMQ requires maxRetriesPerRequest: null). */
export function bullmqConnection(redisUrl: string): {
  host: string;
  port: number;
  maxRetriesPerRequest: null;
} {
  const u = new URL(redisUrl);
  return { host: u.hostname, port: Number(u.port || 6379), maxRetriesPerRequest: null };
}

/**
 * `connection` and `prefix` for a BullMQ Queue/Worker on the endpoint. Single server: connection
 * options (BullMQ opens and closes its connections). Cluster: one ioredis Cluster
 * (maxRetriesPerRequest null on its node connections, as BullMQ requires), shared and therefore
 * not closed by BullMQ: `close` quits it after the queue/worker closed; prefix `{bench}`.
 */
export function bullmqRedis(
  endpoint: RedisEndpoint,
  o: BullmqBenchOptions,
): {
  connection: ReturnType<typeof bullmqConnection> | Cluster;
  prefix?: string;
  close(): Promise<void>;
} {
  if (!isCluster(endpoint)) {
    return {
      connection: bullmqConnection(endpoint.redisUrl),
      ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
      close: async () => undefined,
    };
  }
  const prefix = o.prefix ?? '{bench}';
  if (!/\{[^}]+\}/.test(prefix)) {
    throw new Error(`--opt prefix=${prefix}: on a cluster BullMQ needs a hash tag, e.g. '{bench}'`);
  }
  const cluster = openCluster(endpoint, { redisOptions: { maxRetriesPerRequest: null } });
  return { connection: cluster, prefix, close: () => closeCluster(cluster) };
}

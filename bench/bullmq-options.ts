/**
 * BullMQ knobs shared by bullmq-setup.ts and bullmq-pod.ts, read from `--opt key=value`.
 *
 *   queue=bench                 queue name
 *   concurrency=100             Worker concurrency (per pod)
 *   removeOnComplete=true       true | false | <count to keep>; set on the scheduler's job template
 *   removeOnFail=true           same, for failed jobs
 *   registerLanes=512           upsertJobScheduler calls in flight at once during registration
 *                               (ioredis writes them back to back on one connection: a pipeline)
 */
export interface BullmqBenchOptions {
  queue: string;
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

/**
 * A BullMQ pod: one Worker (concurrency 100 by default) on the bench queue.
 *
 * Fire time of a job-scheduler job. BullMQ 6 (node_modules/bullmq/dist/cjs/classes/job-scheduler.js)
 * gives every iteration the id `repeat:<jobSchedulerId>:<nextMillis>` (getSchedulerNextJobId),
 * where nextMillis is the nominal cron time computed by the repeat strategy, and stores the same
 * value as `opts.prevMillis` (getNextJobOpts: `prevMillis: nextMillis`); `job.repeatJobKey` is the
 * scheduler id. The Lua side (commands/updateJobScheduler-12.lua) builds the same id
 * `"repeat:" .. jobSchedulerId .. ":" .. nextMillis`. So fire time = the number after the last ':'
 * of job.id. (`job.timestamp + job.opts.delay` is only approximately that: the delay is clamped at
 * 0 and taken from a different clock read.) We cross-check it against opts.prevMillis.
 */
import { Job, Worker } from 'bullmq';
import { PodContext, PodHandle, runPod } from './pod-protocol';
import { bullmqOptions, bullmqRedis } from './bullmq-options';

export function fireTimeOf(job: Job): number {
  const id = job.id ?? '';
  const millis = Number(id.slice(id.lastIndexOf(':') + 1));
  if (id.startsWith('repeat:') && Number.isFinite(millis) && millis > 0) return millis;
  return Number(job.opts.prevMillis);
}

export async function createPod(ctx: PodContext): Promise<PodHandle> {
  const o = bullmqOptions(ctx.options);
  // Cluster mode: a shared Cluster connection (closed below) and a hash-tagged prefix.
  const redis = bullmqRedis(ctx, o);
  let mismatches = 0;
  const worker = new Worker(
    o.queue,
    async (job: Job) => {
      const fire = fireTimeOf(job);
      ctx.recordStart(job.repeatJobKey ?? '', fire, 0);
      if (job.opts.prevMillis !== undefined && job.opts.prevMillis !== fire && mismatches++ < 5) {
        ctx.reportError(
          `job ${job.id}: opts.prevMillis ${job.opts.prevMillis} != id millis ${fire}`,
        );
      }
      if (ctx.handlerMs > 0) await new Promise((r) => setTimeout(r, ctx.handlerMs));
    },
    {
      connection: redis.connection,
      ...(redis.prefix !== undefined ? { prefix: redis.prefix } : {}),
      concurrency: o.concurrency,
      name: `pod-${ctx.podIndex}`,
    },
  );
  worker.on('error', (err) => ctx.reportError(err));
  worker.on('failed', (job, err) => ctx.reportError(`job ${job?.id} failed: ${err.message}`));
  await worker.waitUntilReady();
  return {
    close: async () => {
      try {
        await worker.close();
      } finally {
        await redis.close();
      }
    },
  };
}

if (require.main === module) runPod(createPod);

/**
 * Registers one BullMQ job scheduler per workload schedule:
 *   queue.upsertJobScheduler(id, { pattern: cron, tz }, { name: 'tick', data: { i }, opts })
 * (each upsert also adds the scheduler's first delayed job, `repeat:<id>:<nextMillis>`),
 * with `registerLanes` (512) upserts in flight: ioredis writes them back to back on the queue's one
 * connection, so this is BullMQ's public API pipelined as far as it goes (each upsert is one
 * addJobScheduler script call after a cron computation in JS). Once SetupContext.deadlineMs has
 * passed no new upsert starts (registry workload, partial registration reported).
 * Teardown removes them (the runner FLUSHALLs anyway).
 */
import { Queue } from 'bullmq';
import type { ImplSetup, RegisterOutcome, SetupContext } from './impl-setup';
import { nowMs } from './pod-protocol';
import { bullmqOptions, bullmqRedis } from './bullmq-options';

/** Runs fn over items with `width` in flight; stops starting new ones at deadlineMs; returns how many ran. */
async function inBatches<T>(
  items: T[],
  width: number,
  fn: (item: T) => Promise<unknown>,
  deadlineMs = Infinity,
): Promise<number> {
  let next = 0;
  let stop = false;
  const lanes = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (!stop && next < items.length) {
      // Checking the clock every 256 items keeps it off the profile.
      if ((next & 255) === 0 && nowMs() >= deadlineMs) {
        stop = true;
        return;
      }
      await fn(items[next++]);
    }
  });
  await Promise.all(lanes);
  return next;
}

/** The queue, and a close that also quits the shared Cluster connection in cluster mode. */
function openQueue(ctx: SetupContext): { queue: Queue; close(): Promise<void> } {
  const o = bullmqOptions(ctx.options);
  const redis = bullmqRedis(ctx, o);
  const queue = new Queue(o.queue, {
    connection: redis.connection,
    ...(redis.prefix !== undefined ? { prefix: redis.prefix } : {}),
  });
  return {
    queue,
    close: async () => {
      try {
        await queue.close();
      } finally {
        await redis.close();
      }
    },
  };
}

export const bullmqSetup: ImplSetup = {
  async register(ctx): Promise<RegisterOutcome> {
    const o = bullmqOptions(ctx.options);
    const { queue, close } = openQueue(ctx);
    try {
      await queue.waitUntilReady();
      const t0 = nowMs();
      const registered = await inBatches(
        ctx.schedules,
        o.registerLanes,
        (s) =>
          queue.upsertJobScheduler(
            s.id,
            { pattern: s.cron, tz: s.timeZone },
            {
              name: 'tick',
              data: { i: s.index },
              opts: { removeOnComplete: o.removeOnComplete, removeOnFail: o.removeOnFail },
            },
          ),
        ctx.deadlineMs,
      );
      const storeMs = nowMs() - t0;
      const count = await queue.getJobSchedulersCount();
      if (count !== registered) {
        throw new Error(`expected ${registered} job schedulers, found ${count}`);
      }
      return { registered, storeMs };
    } finally {
      await close();
    }
  },

  async teardown(ctx) {
    const { queue, close } = openQueue(ctx);
    try {
      await inBatches(ctx.schedules, 64, (s) => queue.removeJobScheduler(s.id));
      // (the runner skips teardown for large registrations: FLUSHALL is faster)
    } finally {
      await close();
    }
  },

  version() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('bullmq/package.json') as { version: string }).version;
  },
};

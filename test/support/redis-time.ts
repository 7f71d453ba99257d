import type { Cluster, Redis } from 'ioredis';
import { waitFor } from './wait-for';

/** Redis TIME in ms: the only clock the scripts trust, so the one fire times and leases follow. */
export async function redisNow(client: Redis | Cluster): Promise<number> {
  const [seconds, micros] = await client.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * Waits until Redis TIME is past `ms` (a fire time, a lease's end, the end of an observation
 * window), with a deadline of that much time plus `graceMs` by the local clock.
 */
export async function untilRedisTime(
  client: Redis | Cluster,
  ms: number,
  message = `Redis TIME past ${ms}`,
  graceMs = 5_000,
): Promise<void> {
  await waitFor(async () => (await redisNow(client)) > ms, {
    timeoutMs: Math.max(0, ms - Date.now()) + graceMs,
    message,
  });
}

import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';

/** A sample older than this is refreshed with TIME before it is trusted. */
const MAX_SAMPLE_AGE_MS = 10_000;
/** A round trip this short always gives a usable sample. */
const MAX_TRUSTED_RTT_MS = 50;

/**
 * Redis's clock as seen from this process. Decisions that matter are made inside scripts with
 * TIME; this estimate (Redis time at the last sample plus the monotonic time elapsed since) only
 * plans timers and next fire times, so a pod whose wall clock is off by seconds still plans
 * against Redis time.
 */
export class RedisClock {
  private offset = 0;
  private sampledAt = -Infinity;
  private bestRtt = Infinity;

  constructor(private readonly client: Redis | Cluster) {}

  /** Estimated Redis time in ms, without a round trip (0-offset before any sample). */
  now(): number {
    return performance.now() + this.offset;
  }

  /** Redis time in ms, sampling TIME when the estimate is missing or old. */
  async fresh(): Promise<number> {
    if (performance.now() - this.sampledAt > MAX_SAMPLE_AGE_MS) {
      const sentAt = performance.now();
      const [seconds, micros] = await this.client.time();
      this.observe(Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), sentAt);
    }
    return this.now();
  }

  /** Records Redis time `redisMs` from a reply to a request sent at `sentAt` (performance.now()). */
  observe(redisMs: number, sentAt: number): void {
    const receivedAt = performance.now();
    const rtt = receivedAt - sentAt;
    // A reply's Redis time is known only within its round trip, so slow replies (a command queued
    // through an outage) are ignored: the monotonic clock keeps an older quick sample accurate.
    if (this.sampledAt === -Infinity || rtt <= Math.max(this.bestRtt * 4, MAX_TRUSTED_RTT_MS)) {
      this.offset = redisMs - (sentAt + rtt / 2);
      this.sampledAt = receivedAt;
      this.bestRtt = Math.max(1, Math.min(this.bestRtt, rtt));
    }
  }
}

import { performance } from 'node:perf_hooks';
import { RedisClock } from '../../../lib/time/redis-clock';
import type { RedisClient } from '../../../lib/redis/redis-scripts';

describe('RedisClock', () => {
  const unused = {} as RedisClient;

  it('estimates Redis time from a reply, halfway through its round trip', () => {
    const clock = new RedisClock(unused);
    const sentAt = performance.now() - 4;
    clock.observe(1_000_000, sentAt);
    expect(Math.abs(clock.now() - (1_000_000 + 2))).toBeLessThan(3);
  });

  it('ignores a reply that took long (a command queued through an outage)', () => {
    const clock = new RedisClock(unused);
    clock.observe(1_000_000, performance.now() - 2);
    const before = clock.now();
    // 10 s round trip: its Redis time is uncertain by ±5 s, and would drag the estimate off.
    clock.observe(2_000_000, performance.now() - 10_000);
    expect(Math.abs(clock.now() - before)).toBeLessThan(20);
  });

  it('takes a slow sample when it has none', () => {
    const clock = new RedisClock(unused);
    clock.observe(5_000_000, performance.now() - 1_000);
    expect(Math.abs(clock.now() - 5_000_500)).toBeLessThan(20);
  });
});

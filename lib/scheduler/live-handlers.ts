import { performance } from 'node:perf_hooks';
import { dynamicHandlerKey, type KeySpace } from '../redis/key-space';
import type { RedisClient } from '../redis/redis-scripts';
import { validateIdentifier } from '../redis/identifier';

/** How long a handler seen live is trusted without asking Redis again. */
const CACHE_MS = 5_000;

/**
 * Which @ScheduleHandler names some live pod runs, read from the pod registries ('{pods}:h:<name>',
 * a ZSET of pod ids scored by heartbeat expiry), so that a pod without the handler (an API pod)
 * can accept schedules for it. One round trip per batch of names: TIME and each registry's latest
 * expiry in one pipeline, so Redis's clock decides what is live. A name seen live is trusted for
 * 5 s; one that is not is asked again every time.
 */
export class LiveHandlers {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly keys: Pick<KeySpace, 'podRegistry'>,
  ) {}

  /** The names among `names` that a live pod declares (invalid names are left to the validator). */
  async which(names: Iterable<unknown>): Promise<Set<string>> {
    const live = new Set<string>();
    const ask: string[] = [];
    const now = performance.now();
    for (const name of new Set(names)) {
      if (!isIdentifier(name)) continue;
      if ((this.seen.get(name) ?? 0) > now) live.add(name);
      else ask.push(name);
    }
    if (ask.length === 0) return live;
    const pipeline = this.client.pipeline();
    pipeline.time();
    for (const name of ask) {
      pipeline.zrange(this.keys.podRegistry(dynamicHandlerKey(name)), '-1', '-1', 'WITHSCORES');
    }
    const [time, ...latest] = (await pipeline.exec()) ?? [];
    const [seconds, micros] = reply<[string, string]>(time);
    const redisNow = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    ask.forEach((name, i) => {
      const [, expiry] = reply<string[]>(latest[i]);
      if (expiry !== undefined && Number(expiry) > redisNow) {
        live.add(name);
        this.seen.set(name, performance.now() + CACHE_MS);
      }
    });
    return live;
  }
}

function reply<T>(entry: [Error | null, unknown] | undefined): T {
  if (!entry) throw new Error('Redis returned no reply to a pipelined command');
  if (entry[0]) throw entry[0];
  return entry[1] as T;
}

function isIdentifier(name: unknown): name is string {
  try {
    validateIdentifier('handler', name);
    return true;
  } catch {
    return false;
  }
}

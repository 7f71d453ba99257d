import { CronSchedule } from './cron';

/** Decoded timings kept; schedules share a handful of distinct ones. */
const CACHE_LIMIT = 10_000;
const cache = new Map<string, ScheduleTiming>();

/**
 * When a schedule fires: its cron in its zone and its jitter. Stored in one hash field as
 * '<cron>|<time zone>|<jitter ms>' (neither a cron expression nor an IANA zone holds '|'), so a
 * claim carries it as one string and a pod decodes each distinct one once. The cron is stored with
 * its `H` already resolved (CronSchedule.of with the schedule's identity), so decoding it depends
 * on nothing but the stored text.
 */
export class ScheduleTiming {
  private constructor(
    readonly cron: CronSchedule,
    readonly jitterMs: number,
    readonly stored: string,
  ) {}

  static of(cron: CronSchedule, jitterMs: number): ScheduleTiming {
    return ScheduleTiming.decode(`${cron.expression}|${cron.timeZone}|${jitterMs}`);
  }

  /** Throws InvalidCronError / UnknownTimeZoneError for a timing this version cannot use. */
  static decode(stored: string): ScheduleTiming {
    const hit = cache.get(stored);
    if (hit) return hit;
    const last = stored.lastIndexOf('|');
    const zoneAt = stored.lastIndexOf('|', last - 1);
    const timing = new ScheduleTiming(
      // A timing stored before `H` was resolved at upsert holds it still: it is drawn from the
      // stored text, the same in every process (a later upsert stores it resolved).
      CronSchedule.of(stored.slice(0, zoneAt), stored.slice(zoneAt + 1, last), stored),
      Number(stored.slice(last + 1)) || 0,
      stored,
    );
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(stored, timing);
    return timing;
  }
}

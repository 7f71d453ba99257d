import { CronSchedule } from './cron';
import { decodeSeries, type FireSeries } from './fire-series';

/** Decoded timings kept; schedules share a handful of distinct ones. */
const CACHE_LIMIT = 10_000;
const cache = new Map<string, ScheduleTiming>();

/**
 * When a schedule fires: its fire series (a cron in its zone, an interval, or one time) and its
 * jitter. Stored in one hash field as '<expression>|<time zone>|<jitter ms>' (no expression or
 * IANA zone holds '|'), so a claim carries it as one string and a pod decodes each distinct one
 * once. The expression is a cron with its `H` already resolved (CronSchedule.of with the
 * schedule's identity), '@every:<ms>:<anchor ms>' for an interval or '@at:<ms>' for a one-off
 * (fire-series.ts), so decoding it depends on nothing but the stored text.
 */
export class ScheduleTiming {
  private constructor(
    readonly series: FireSeries,
    readonly jitterMs: number,
    readonly stored: string,
  ) {}

  static of(series: FireSeries, jitterMs: number): ScheduleTiming {
    return ScheduleTiming.decode(`${series.expression}|${series.timeZone}|${jitterMs}`);
  }

  /** Throws InvalidCronError / UnknownTimeZoneError for a timing this version cannot use. */
  static decode(stored: string): ScheduleTiming {
    const hit = cache.get(stored);
    if (hit) return hit;
    const last = stored.lastIndexOf('|');
    const zoneAt = stored.lastIndexOf('|', last - 1);
    const expression = stored.slice(0, zoneAt);
    const timing = new ScheduleTiming(
      // A timing stored before `H` was resolved at upsert holds it still: it is drawn from the
      // stored text, the same in every process (a later upsert stores it resolved).
      decodeSeries(expression) ??
        CronSchedule.of(expression, stored.slice(zoneAt + 1, last), stored),
      Number(stored.slice(last + 1)) || 0,
      stored,
    );
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(stored, timing);
    return timing;
  }
}

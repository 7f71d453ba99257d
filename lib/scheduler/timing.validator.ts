import { InvalidOptionsError } from '../errors/invalid-options.error';
import { IntervalTooShortError } from '../errors/interval-too-short.error';
import { InvalidTimingError } from '../errors/invalid-timing.error';
import { CronSchedule } from '../time/cron';
import {
  OneOffSeries,
  parseAt,
  parseEvery,
  type FireSeries,
  type UnanchoredInterval,
} from '../time/fire-series';

/** What a schedule fires on, checked: a series, or an interval the writer anchors. */
export interface ValidatedTiming {
  series: FireSeries | UnanchoredInterval;
  /** `cron`, `every` or `at` as written when it is text ('' for a number or a Date). */
  written: string;
}

/** What a timing is read from: a schedule input or a static's declaration. */
export interface TimingFields {
  cron?: unknown;
  every?: unknown;
  at?: unknown;
}

/**
 * Exactly one of cron / every / at, readable, and (minIntervalMs > 0) no two fire times closer
 * than minIntervalMs. Throws InvalidTimingError, InvalidCronError, UnknownTimeZoneError or
 * IntervalTooShortError; `hashSeed` draws a cron's `H`.
 */
export function validateTiming(
  input: TimingFields,
  timeZone: string,
  hashSeed: string,
  minIntervalMs: number,
): ValidatedTiming {
  const set = (['cron', 'every', 'at'] as const).filter((k) => input[k] !== undefined);
  if (set.length !== 1) {
    throw new InvalidTimingError(
      'cron/every/at',
      set.length === 0 ? 'none is set' : `${set.join(' and ')} are set together`,
    );
  }
  if (input.every !== undefined) {
    const everyMs = parseEvery(input.every);
    if (minIntervalMs > 0 && everyMs < minIntervalMs) {
      throw new IntervalTooShortError(`every ${String(input.every)}`, everyMs, minIntervalMs);
    }
    return { series: { everyMs }, written: typeof input.every === 'string' ? input.every : '' };
  }
  if (input.at !== undefined) {
    const series = new OneOffSeries(parseAt(input.at));
    return { series, written: typeof input.at === 'string' ? input.at : '' };
  }
  if (typeof input.cron !== 'string') {
    throw new InvalidOptionsError(
      'cron',
      'it must be a cron expression string such as "0 9 * * 1"',
    );
  }
  // `H` is drawn once, here, from the schedule's identity: the timing stored, every pod's fire
  // times and the minimum-interval guard below all read the same resolved expression.
  const cron = CronSchedule.of(input.cron, timeZone, hashSeed);
  if (minIntervalMs > 0) {
    const gap = cron.shortestGapMs();
    if (gap < minIntervalMs) {
      throw new IntervalTooShortError(input.cron, gap, minIntervalMs, cron.expression);
    }
  }
  return { series: cron, written: input.cron };
}

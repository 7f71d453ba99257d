import { InvalidTimingError } from '../errors/invalid-timing.error';

/**
 * The fire times of a schedule, whatever says them: a cron expression (CronSchedule), a fixed
 * interval from an anchor (IntervalSeries) or one time (OneOffSeries). Fire planning only asks a
 * series for the next fire time after t and the latest at or before t, so it never branches on
 * the kind. `expression` and `timeZone` are what ScheduleTiming stores ('<expression>|<zone>|..').
 */
export interface FireSeries {
  readonly expression: string;
  readonly timeZone: string;
  /** The first fire time strictly after `ms`; Infinity when there is none (a one-off's after it). */
  nextAfter(ms: number): number;
  /** The latest fire time at or before `ms`, or null. */
  latestAtOrBefore(ms: number): number | null;
  /**
   * Where a new (or resumed) schedule is armed from at Redis time `nowMs`: for a repeating series
   * the next fire time after now; for a one-off its one fire time, even when it is past.
   */
  firstFrom(nowMs: number): number;
  /** false for a one-off: it has one fire time and is finished after it. */
  readonly repeats: boolean;
}

/** An interval before the writer anchors it (at creation, or the stored anchor: ScheduleStore). */
export interface UnanchoredInterval {
  everyMs: number;
}

/** The series of an interval anchored at `anchorMs`, unless `stored` is one with the same period. */
export function anchorInterval(
  spec: FireSeries | UnanchoredInterval,
  stored: string | null,
  anchorMs: number,
): FireSeries {
  if (!('everyMs' in spec) || spec instanceof IntervalSeries) return spec as FireSeries;
  const previous = stored === null ? null : decodeSeries(stored.slice(0, stored.indexOf('|')));
  const kept = previous instanceof IntervalSeries && previous.everyMs === spec.everyMs;
  return new IntervalSeries(spec.everyMs, kept ? previous.anchorMs : Math.floor(anchorMs));
}

const EVERY_PREFIX = '@every:';
const AT_PREFIX = '@at:';
const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const EVERY_TEXT = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/**
 * An interval in ms from what `every` accepts: a positive whole number of milliseconds, or a
 * string of a number and a unit ('500ms', '90s', '5m', '1.5h', '1d'; a bare number is ms). The
 * result must be a whole number of ms ≥ 1. Throws InvalidTimingError.
 */
export function parseEvery(every: unknown): number {
  let ms: number;
  if (typeof every === 'number') ms = every;
  else if (typeof every === 'string') {
    const match = EVERY_TEXT.exec(every);
    if (!match) throw new InvalidTimingError('every', `${JSON.stringify(every)} cannot be read`);
    ms = Number(match[1]) * UNITS[match[2] ?? 'ms'];
  } else {
    throw new InvalidTimingError('every', `${JSON.stringify(every)} is not a number or a string`);
  }
  if (!Number.isSafeInteger(ms) || ms < 1) {
    throw new InvalidTimingError(
      'every',
      `${JSON.stringify(every)} is not a whole number of milliseconds ≥ 1`,
    );
  }
  return ms;
}

/** The epoch ms of what `at` accepts: a valid Date, or an ISO 8601 string. Throws InvalidTimingError. */
export function parseAt(at: unknown): number {
  let ms = NaN;
  if (at instanceof Date) ms = at.getTime();
  else if (typeof at === 'string' && /^\d{4}-\d{2}-\d{2}/.test(at.trim())) ms = Date.parse(at);
  if (!Number.isSafeInteger(ms) || ms < 0) {
    const shown = at instanceof Date ? 'an invalid Date' : JSON.stringify(at);
    throw new InvalidTimingError('at', `${shown} is not a valid date`);
  }
  return ms;
}

/** Fire times anchor + k × everyMs (k any integer): the anchor is the schedule's creation time. */
export class IntervalSeries implements FireSeries {
  readonly timeZone = 'UTC';
  readonly repeats = true;
  readonly expression: string;

  constructor(
    readonly everyMs: number,
    readonly anchorMs: number,
  ) {
    this.expression = `${EVERY_PREFIX}${everyMs}:${anchorMs}`;
  }

  nextAfter(ms: number): number {
    return this.anchorMs + (Math.floor((ms - this.anchorMs) / this.everyMs) + 1) * this.everyMs;
  }

  latestAtOrBefore(ms: number): number {
    return this.anchorMs + Math.floor((ms - this.anchorMs) / this.everyMs) * this.everyMs;
  }

  firstFrom(nowMs: number): number {
    return this.nextAfter(nowMs);
  }

  /** The least time between two fire times (what tenantGuards.minIntervalMs checks). */
  shortestGapMs(): number {
    return this.everyMs;
  }
}

/** One fire time: a one-off task. */
export class OneOffSeries implements FireSeries {
  readonly timeZone = 'UTC';
  readonly repeats = false;
  readonly expression: string;

  constructor(readonly atMs: number) {
    this.expression = `${AT_PREFIX}${atMs}`;
  }

  nextAfter(ms: number): number {
    return ms < this.atMs ? this.atMs : Infinity;
  }

  latestAtOrBefore(ms: number): number | null {
    return this.atMs <= ms ? this.atMs : null;
  }

  firstFrom(): number {
    return this.atMs;
  }
}

/** An interval or one-off series from its stored expression, or null for anything else (a cron). */
export function decodeSeries(expression: string): IntervalSeries | OneOffSeries | null {
  if (expression.startsWith(EVERY_PREFIX)) {
    const [every, anchor] = expression.slice(EVERY_PREFIX.length).split(':').map(Number);
    if (!(every >= 1) || !Number.isSafeInteger(anchor)) return null;
    return new IntervalSeries(every, anchor);
  }
  if (expression.startsWith(AT_PREFIX)) {
    const at = Number(expression.slice(AT_PREFIX.length));
    return Number.isSafeInteger(at) ? new OneOffSeries(at) : null;
  }
  return null;
}

/** Whether a stored expression is an interval's or a one-off's (no cron parser needed). */
export function seriesKindOf(expression: string): 'cron' | 'every' | 'at' {
  if (expression.startsWith(EVERY_PREFIX)) return 'every';
  if (expression.startsWith(AT_PREFIX)) return 'at';
  return 'cron';
}

import { CronExpression, CronExpressionParser } from 'cron-parser';
import { InvalidCronError } from '../errors/invalid-cron.error';
import { UnknownTimeZoneError } from '../errors/unknown-time-zone.error';
import type { FireSeries } from './fire-series';

const DAY_MS = 86_400_000;
const NEXT_MEMO_LIMIT = 4_096;
const SCHEDULE_CACHE_LIMIT = 10_000;
/** How many fired days the min-interval check walks at most (about 28 years of a weekly cron). */
const DAY_SCAN_LIMIT = 1_500;
const DAY_SCAN_HORIZON_MS = 28 * 366 * DAY_MS;

const cache = new Map<string, CronSchedule>();
const zoneCache = new Map<string, boolean>();
/** Three letters in the month and day-of-week fields are a name (`THU`, `MAR`), not an `H`. */
const NAME = /[a-z]{3}/gi;

/**
 * What a schedule's `H` is drawn from: its identity, '<tenantId>:<id>' for a dynamic schedule and
 * the name of a `@DistributedCron`, so that every process and every version draws the same value.
 */
export function hashSeedOf(id: string, tenantId?: string): string {
  return tenantId === undefined ? id : `${tenantId}:${id}`;
}

/** Throws UnknownTimeZoneError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  let known = zoneCache.get(timeZone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone }).format(0);
      known = typeof timeZone === 'string' && timeZone.length > 0;
    } catch {
      known = false;
    }
    zoneCache.set(timeZone, known);
  }
  if (!known) throw new UnknownTimeZoneError(timeZone);
}

/**
 * A validated cron expression in a time zone. Instances are shared (see `CronSchedule.of`)
 * and memoise `nextAfter`, because many schedules share one expression and fire time.
 */
export class CronSchedule implements FireSeries {
  readonly repeats = true;
  private readonly memo = new Map<number, number>();
  private gap: number | undefined;

  private constructor(
    readonly expression: string,
    readonly timeZone: string,
    private readonly iterator: CronExpression,
  ) {}

  /**
   * Parses and validates once per (expression, zone); throws InvalidCronError / UnknownTimeZoneError.
   * An expression holding `H` is first resolved with `hashSeed` (see resolveHashes): the instance's
   * `expression` is then the resolved one, and so is the cache key, so schedules that draw
   * different values never share an instance. `H` without a seed is refused.
   */
  static of(expression: string, timeZone = 'UTC', hashSeed?: string): CronSchedule {
    const hit = cache.get(`${timeZone}\u0000${expression}`);
    if (hit) return hit;
    const resolved = resolveHashes(expression, hashSeed);
    const cacheKey = `${timeZone}\u0000${resolved}`;
    const resolvedHit = cache.get(cacheKey);
    if (resolvedHit) return resolvedHit;
    assertTimeZone(timeZone);
    let iterator: CronExpression;
    try {
      iterator = parse(resolved, timeZone);
    } catch (error) {
      if (resolved === expression || !(error instanceof InvalidCronError)) throw error;
      throw new InvalidCronError(
        expression,
        `with its H drawn for this schedule it reads "${resolved}" (${error.reason})`,
      );
    }
    const schedule = new CronSchedule(resolved, timeZone, iterator);
    if (cache.size >= SCHEDULE_CACHE_LIMIT) cache.clear();
    cache.set(cacheKey, schedule);
    return schedule;
  }

  /** The first fire time strictly after `ms` (epoch milliseconds). */
  nextAfter(ms: number): number {
    const hit = this.memo.get(ms);
    if (hit !== undefined) return hit;
    this.iterator.reset(new Date(ms));
    const next = this.iterator.next().getTime();
    if (this.memo.size >= NEXT_MEMO_LIMIT) this.memo.clear();
    this.memo.set(ms, next);
    return next;
  }

  firstFrom(nowMs: number): number {
    return this.nextAfter(nowMs);
  }

  /** The latest fire time at or before `ms`, or null if there is none within cron-parser's range. */
  latestAtOrBefore(ms: number): number | null {
    this.iterator.reset(new Date(ms + 1));
    try {
      return this.iterator.prev().getTime();
    } catch {
      return null;
    }
  }

  /**
   * The shortest gap between two consecutive fire times over the expression's whole cycle,
   * in wall-clock terms (a daylight-saving shift can shorten one gap by the shift itself).
   * Computed from the field sets, not by sampling the next few fires, so `0,1 0 * * *` is 60 s.
   */
  shortestGapMs(): number {
    if (this.gap === undefined) this.gap = shortestGap(this.iterator);
    return this.gap;
  }
}

/**
 * The expression with every field that uses `H` (`H`, `H/20`, `H(0-29)`, `H(0-29)/20`, `H#3`)
 * written out as the values cron-parser draws for `hashSeed`; the other fields stay as written,
 * and an expression without `H` comes back unchanged. Deterministic: the same expression and seed
 * give the same result in every process (cron-parser's seeded PRNG draws one value per field).
 */
export function resolveHashes(expression: string, hashSeed?: string): string {
  const fields = fieldsOf(expression);
  const hashed = fields.map((field, i) => usesHash(field, i, fields.length));
  if (!hashed.includes(true)) return expression;
  if (!hashSeed) {
    throw new InvalidCronError(expression, 'H needs the schedule it belongs to, to draw from');
  }
  let drawn: string[];
  try {
    // The other fields as '*': a draw depends only on its own field (one per field, in order), and
    // a drawn day the month lacks is then reported by CronSchedule.of with the values drawn.
    const probe = fields.map((field, i) => (hashed[i] ? field : '*')).join(' ');
    const iterator = CronExpressionParser.parse(probe, { hashSeed, currentDate: new Date(0) });
    drawn = iterator.stringify(true).split(' ');
  } catch (error) {
    throw new InvalidCronError(expression, (error as Error).message);
  }
  const offset = 6 - fields.length;
  return fields.map((f, i) => (hashed[i] ? drawn[i + offset] : f)).join(' ');
}

/** Whether the expression uses `H` in any field (a cheap textual check, nothing is parsed). */
export function usesHashes(expression: string): boolean {
  const fields = fieldsOf(expression);
  return fields.some((field, i) => usesHash(field, i, fields.length));
}

/** The fields of a 5- or 6-field expression; none for anything else (`@hourly`, invalid input). */
function fieldsOf(expression: string): string[] {
  if (typeof expression !== 'string') return [];
  const fields = expression.trim().split(/\s+/);
  return fields.length === 5 || fields.length === 6 ? fields : [];
}

function usesHash(field: string, index: number, count: number): boolean {
  // Month and day of week are the last two fields in both forms, and may hold names.
  return (index >= count - 2 ? field.replace(NAME, '') : field).includes('H');
}

function parse(expression: string, timeZone: string): CronExpression {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new InvalidCronError(String(expression), 'it is empty');
  }
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) {
    throw new InvalidCronError(expression, `it has ${fields} fields`);
  }
  let iterator: CronExpression;
  try {
    iterator = CronExpressionParser.parse(trimmed, { tz: timeZone, currentDate: new Date(0) });
  } catch (error) {
    throw new InvalidCronError(expression, (error as Error).message);
  }
  try {
    iterator.reset(new Date());
    iterator.next();
  } catch {
    throw new InvalidCronError(expression, 'it never fires');
  }
  return iterator;
}

function numbers(values: readonly (number | string)[]): number[] {
  return values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
}

function minStep(sorted: readonly number[]): number {
  let min = Infinity;
  for (let i = 1; i < sorted.length; i++) min = Math.min(min, sorted[i] - sorted[i - 1]);
  return min;
}

/**
 * Fire times are (fired day) × hours × minutes × seconds. Consecutive fires differ in exactly
 * one of those levels, so the shortest gap is the least of: the closest two seconds; the
 * closest two minutes less the span of seconds; the closest two hours less the span of
 * minutes and seconds; and the closest two fired days less the span of the whole day.
 */
function shortestGap(iterator: CronExpression): number {
  const s = numbers(iterator.fields.second.values);
  const m = numbers(iterator.fields.minute.values);
  const h = numbers(iterator.fields.hour.values);
  const first = (h[0] * 60 + m[0]) * 60 + s[0];
  const last = (h[h.length - 1] * 60 + m[m.length - 1]) * 60 + s[s.length - 1];
  const spanS = s[s.length - 1] - s[0];
  const spanMS = m[m.length - 1] * 60 + s[s.length - 1] - (m[0] * 60 + s[0]);
  let gap = Math.min(minStep(s), minStep(m) * 60 - spanS, minStep(h) * 3600 - spanMS) * 1000;
  const daySpanMs = (last - first) * 1000;
  // Two fired days `d` apart give a gap of d·DAY − daySpan: only scan when that can be shorter.
  if (DAY_MS - daySpanMs < gap) {
    gap = Math.min(gap, shortestDayGap(iterator) - daySpanMs);
  }
  return gap;
}

/** Shortest distance between two consecutive fired days (UTC calendar), stopping at one day. */
function shortestDayGap(iterator: CronExpression): number {
  const { dayOfMonth, dayOfWeek } = iterator.fields;
  const plain =
    !dayOfMonth.hasLastChar &&
    !dayOfWeek.hasLastChar &&
    dayOfWeek.nthDay === 0 &&
    dayOfMonth.values.every((v) => typeof v === 'number');
  return plain ? scanPlainDays(iterator) : scanDaysWithParser(iterator);
}

/** Day matching without L, W or #: month AND (day-of-month OR day-of-week when both are set). */
function scanPlainDays(iterator: CronExpression): number {
  const { month, dayOfMonth, dayOfWeek } = iterator.fields;
  const months = new Set(numbers(month.values));
  const doms = new Set(numbers(dayOfMonth.values));
  const dows = new Set(numbers(dayOfWeek.values).map((d) => d % 7));
  const anyDom = dayOfMonth.isWildcard || dayOfMonth.hasQuestionMarkChar;
  const anyDow = dayOfWeek.isWildcard || dayOfWeek.hasQuestionMarkChar;
  const start = Date.UTC(2000, 0, 1);
  let best = Infinity;
  let previous = -Infinity;
  for (let day = start; day < start + DAY_SCAN_HORIZON_MS && best > DAY_MS; day += DAY_MS) {
    const date = new Date(day);
    if (!months.has(date.getUTCMonth() + 1)) continue;
    const domHit = doms.has(date.getUTCDate());
    const dowHit = dows.has(date.getUTCDay());
    const hit = anyDom && anyDow ? true : anyDom ? dowHit : anyDow ? domHit : domHit || dowHit;
    if (!hit) continue;
    best = Math.min(best, day - previous);
    previous = day;
  }
  return best;
}

/** The general case (L, W, #): let cron-parser walk the fired days. */
function scanDaysWithParser(iterator: CronExpression): number {
  const fields = iterator.stringify(true).split(' ');
  const daily = CronExpressionParser.parse(['0', '0', '0', ...fields.slice(3)].join(' '), {
    tz: 'UTC',
    currentDate: new Date(Date.UTC(2000, 0, 1) - 1),
  });
  let best = Infinity;
  let previous = daily.next().getTime();
  const horizon = previous + DAY_SCAN_HORIZON_MS;
  for (let i = 0; i < DAY_SCAN_LIMIT && previous < horizon && best > DAY_MS; i++) {
    const current = daily.next().getTime();
    best = Math.min(best, current - previous);
    previous = current;
  }
  return best;
}

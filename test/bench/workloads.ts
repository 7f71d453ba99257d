/**
 * Workloads: which schedules exist, how long handlers take, and which fire times are expected.
 *
 * Both the runner and every pod build the schedule list from (workload, count), so it never has
 * to travel over IPC. Schedule i always has id `bench-<i>` and index i.
 */
import { CronExpressionParser } from 'cron-parser';

export interface ScheduleSpec {
  /** Index in the workload's list (what the pods report back). */
  index: number;
  /** Scheduler / schedule id, unique, `bench-<index>`. */
  id: string;
  /** 6-field cron (seconds first). */
  cron: string;
  timeZone: string;
  /** Jitter window an implementation may apply; 0 = none. Lateness subtracts the offset used. */
  jitterMs: number;
}

/**
 * Per-run parameters the runner picks before registration and hands to every pod with the
 * workload name, so that runner and pods build the same list.
 */
export interface WorkloadParams {
  /** The 6-field cron of every schedule, when the workload computes it at run time. */
  cron?: string;
}

export interface Workload {
  name: string;
  description: string;
  /**
   * 'window': schedules fire inside a measured window (runs, lateness, per-run costs);
   * 'registry': nothing is meant to fire while measured (registration, memory, idle pods).
   */
  kind: 'window' | 'registry';
  /** How long each handler run takes, ms (0 = returns at once). */
  handlerMs: number;
  schedules(count: number, params?: WorkloadParams): ScheduleSpec[];
}

export const scheduleId = (index: number): string => `bench-${index}`;

const ID_PATTERN = /^bench-(\d{1,9})$/;

/** Index of a `bench-<i>` id below `count`, or -1 (no schedule list needed). */
export function scheduleIndexOf(id: string, count: number): number {
  const m = ID_PATTERN.exec(id);
  if (!m) return -1;
  const i = Number(m[1]);
  return i < count && scheduleId(i) === id ? i : -1;
}

function uniform(count: number, cron: string): ScheduleSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    id: scheduleId(index),
    cron,
    timeZone: 'UTC',
    jitterMs: 0,
  }));
}

/** A 6-field UTC cron that fires once a year, at the whole second `atMs`. */
export function cronAt(atMs: number): string {
  const d = new Date(atMs);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${d.getUTCDate()} ${d.getUTCMonth() + 1} *`;
}

/** An hourly 6-field cron at second 0 of the minute half an hour away from `nowMs` (never due soon). */
export function hourlyCronAwayFrom(nowMs: number): string {
  return `0 ${(new Date(nowMs).getUTCMinutes() + 30) % 60} * * * *`;
}

export const WORKLOADS: Record<string, Workload> = {
  steady: {
    name: 'steady',
    description: 'S schedules, every second (* * * * * *), no jitter, no-op handler',
    kind: 'window',
    handlerMs: 0,
    schedules: (count) => uniform(count, '* * * * * *'),
  },
  sweep: {
    name: 'sweep',
    description:
      'steady at rising rates: S schedules every second for each S of the steps (20k, 30k, 40k, ' +
      '50k, 60k), stopping after the first step with misses; reports the highest rate held',
    kind: 'window',
    handlerMs: 0,
    schedules: (count) => uniform(count, '* * * * * *'),
  },
  herd: {
    name: 'herd',
    description:
      'S schedules (100,000 and 1,000,000) all due at the same whole second (a once-a-year cron at that second, ' +
      'picked by the runner after a lead time for registration and pod start), no jitter, no-op handler',
    kind: 'window',
    handlerMs: 0,
    schedules: (count, params) => {
      if (!params?.cron) throw new Error('herd: the runner must pick the fire time (params.cron)');
      return uniform(count, params.cron);
    },
  },
  registry: {
    name: 'registry',
    description:
      'S schedules (1k vs 1M) with one hourly cron at a minute half an hour away (nothing fires ' +
      'while measured): registration rate, Redis memory per schedule, idle pods RSS and start time',
    kind: 'registry',
    handlerMs: 0,
    schedules: (count, params) => uniform(count, params?.cron ?? '0 0 * * * *'),
  },
};

export function getWorkload(name: string): Workload {
  const w = WORKLOADS[name];
  if (!w)
    throw new Error(`unknown workload '${name}' (known: ${Object.keys(WORKLOADS).join(', ')})`);
  return w;
}

/** Nominal fire times of `cron` in [fromMs, toMs). */
export function fireTimesBetween(
  cron: string,
  timeZone: string,
  fromMs: number,
  toMs: number,
): number[] {
  const it = CronExpressionParser.parse(cron, { currentDate: new Date(fromMs - 1), tz: timeZone });
  const out: number[] = [];
  for (;;) {
    const t = it.next().getTime();
    if (t >= toMs) return out;
    if (t >= fromMs) out.push(t);
  }
}

/**
 * Expected fire times of every schedule in [fromMs, toMs): index → fire times.
 * Identical (cron, zone) pairs are enumerated once.
 */
export function expectedFireTimes(
  schedules: ScheduleSpec[],
  fromMs: number,
  toMs: number,
): Map<number, number[]> {
  const cache = new Map<string, number[]>();
  const out = new Map<number, number[]>();
  for (const s of schedules) {
    const key = `${s.cron}\u0000${s.timeZone}`;
    let times = cache.get(key);
    if (!times) {
      times = fireTimesBetween(s.cron, s.timeZone, fromMs, toMs);
      cache.set(key, times);
    }
    out.set(s.index, times);
  }
  return out;
}

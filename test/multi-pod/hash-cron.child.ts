// One process computing, through the library's own code, what it would store and run for a few
// schedules whose cron uses H: the validated (upsert) expression, the stored timing, and the fire
// times a pod arms from that timing. Prints one JSON line (HashCronReport) and exits.
import { armAfter } from '../../lib/engine/fire-planner';
import { validateScheduleInput } from '../../lib/scheduler/schedule.validator';
import { ScheduleTiming } from '../../lib/time/schedule-timing';
import type { CronSchedule } from '../../lib/time/cron';

export interface HashCronSchedule {
  tenantId: string;
  id: string;
  cron: string;
}

export interface HashCronResult {
  /** The cron as validated for the upsert (H drawn). */
  resolved: string;
  /** The timing the writer stores. */
  stored: string;
  /** Fire times a pod arms one after another from the stored timing, from FROM_MS on. */
  fires: number[];
}

export interface HashCronReport {
  pid: number;
  schedules: HashCronResult[];
  /** Fire times armed from a timing an older version stored with its H unresolved. */
  legacyFires: number[];
}

export const FROM_MS = Date.parse('2026-06-01T00:00:00Z');
export const LEGACY_TIMING = 'H/20 * * * * *|UTC|0';
const FIRES = 40;

function firesOf(stored: string, member: string): number[] {
  const { series, jitterMs } = ScheduleTiming.decode(stored);
  const out: number[] = [];
  for (let t = FROM_MS; out.length < FIRES;) {
    t = armAfter(series, member, jitterMs, t).fireMs;
    out.push(t);
  }
  return out;
}

const schedules = JSON.parse(process.argv[2] ?? '[]') as HashCronSchedule[];
const report: HashCronReport = {
  pid: process.pid,
  schedules: schedules.map((s) => {
    const valid = validateScheduleInput(
      { ...s, handler: 'record', timeZone: 'UTC' },
      {
        defaultTimeZone: 'UTC',
        defaultJitterMs: 0,
        guards: { maxSchedulesPerTenant: 0, minIntervalMs: 20_000, maxPayloadBytes: 0 },
        hasHandler: () => true,
        handlerNames: () => ['record'],
      },
    );
    const cron = valid.timing.series as CronSchedule;
    const stored = ScheduleTiming.of(cron, valid.jitterMs).stored;
    return {
      resolved: cron.expression,
      stored,
      fires: firesOf(stored, `t:${s.tenantId}:${s.id}`),
    };
  }),
  legacyFires: firesOf(LEGACY_TIMING, 't:acme:legacy'),
};
process.stdout.write(`${JSON.stringify(report)}\n`);

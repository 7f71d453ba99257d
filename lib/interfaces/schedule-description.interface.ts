import type { RunRecord } from './run-record.interface';
import type { Schedule, StaticSchedule } from './schedule.interface';

/** What describe() shows: how many upcoming fire times and recorded runs. */
export interface DescribeOptions {
  /** Upcoming fire times, 0 to 100. @default 5 */
  next?: number;
  /** Recorded runs, newest first, 0 to 100 (at most the `runHistory` kept). @default 10 */
  last?: number;
}

/** An upcoming fire time: nominal, and when it becomes due with the schedule's jitter offset. */
export interface UpcomingFire {
  fireTime: Date;
  dueAt: Date;
}

/** Counted by the script that records each run, over the schedule's whole life (not the history). */
export interface RunCounters {
  /** Attempts recorded (each succeeded, failed or retried attempt counts once). */
  runs: number;
  /** Attempts that failed, whether a retry followed or not. */
  failures: number;
  /** Fire times passed over unrun (misfire and overlap policies). */
  skipped: number;
}

/** describe(): the definition and state, what comes next, what happened last. */
export interface ScheduleDescription<TPayload = unknown> {
  schedule: Schedule<TPayload>;
  /** Empty while the schedule (or its tenant) is paused or parked: nothing is going to fire. */
  nextFires: UpcomingFire[];
  lastRuns: RunRecord[];
  counters: RunCounters;
}

/** describeStatic(): the same for a @DistributedCron schedule. */
export interface StaticScheduleDescription {
  schedule: StaticSchedule;
  nextFires: UpcomingFire[];
  lastRuns: RunRecord[];
  counters: RunCounters;
}

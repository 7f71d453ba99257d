import { SchedulerError } from './scheduler.error';

export class IntervalTooShortError extends SchedulerError {
  constructor(
    readonly expression: string,
    readonly shortestGapMs: number,
    readonly minIntervalMs: number,
  ) {
    super(
      'INTERVAL_TOO_SHORT',
      `Cron "${expression}" fires as little as ${shortestGapMs} ms apart somewhere in its cycle; tenantGuards.minIntervalMs requires at least ${minIntervalMs} ms between two runs. Use a sparser expression.`,
    );
  }
}

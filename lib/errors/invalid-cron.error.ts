import { SchedulerError } from './scheduler.error';

export class InvalidCronError extends SchedulerError {
  constructor(
    readonly expression: string,
    /** What is wrong with it, without the advice of the message. */
    readonly reason: string,
  ) {
    super(
      'INVALID_CRON',
      `Invalid cron expression "${expression}": ${reason}. Use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "0 9 * * 1".`,
    );
  }
}

import { SchedulerError } from './scheduler.error';

/**
 * A schedule's timing cannot be used: it sets none or more than one of `cron`, `every` and `at`,
 * or its `every` or `at` cannot be read.
 */
export class InvalidTimingError extends SchedulerError {
  constructor(
    /** Which part was wrong: 'cron/every/at' (none or several), 'every' or 'at'. */
    readonly field: 'cron/every/at' | 'every' | 'at',
    /** What is wrong with it, without the advice of the message. */
    readonly reason: string,
  ) {
    super('INVALID_TIMING', `Invalid schedule ${field}: ${reason}. ${ADVICE[field]}`);
  }
}

const ADVICE: Record<InvalidTimingError['field'], string> = {
  'cron/every/at':
    'Set exactly one of `cron` (an expression), `every` (an interval) and `at` (a one-off time).',
  every:
    "Give a positive whole number of milliseconds, or a number with a unit: '500ms', '90s', '5m', '1h', '1d'.",
  at: "Give a Date or an ISO 8601 string such as '2030-01-01T09:00:00Z'.",
};

import { SchedulerError } from './scheduler.error';

/**
 * The durable schedule store (the module's `store` option) could not commit a schedule change:
 * nothing was written, neither to the store nor to Redis. Retry once the database is reachable.
 */
export class ScheduleStoreUnavailableError extends SchedulerError {
  constructor(readonly reason: string) {
    super(
      'SCHEDULE_STORE_UNAVAILABLE',
      `The schedule store could not save the change (${reason}); nothing was written. Check that ` +
        'the database is reachable and retry.',
    );
  }
}

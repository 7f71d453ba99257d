import { SchedulerError } from './scheduler.error';

/**
 * A resume kept meeting a concurrent upsert of the same schedule: its timing changed between the
 * read the next fire time was computed from and the write, on every try.
 */
export class ConcurrentChangeError extends SchedulerError {
  constructor(
    readonly tenantId: string,
    readonly scheduleId: string,
  ) {
    super(
      'CONCURRENT_CHANGE',
      `Schedule "${scheduleId}" of tenant "${tenantId}" was changed by a concurrent upsert each time it was resumed; nothing was written. Resume it again once those upserts are done.`,
    );
  }
}

import { SchedulerError } from './scheduler.error';
import type { Schedule } from '../interfaces/schedule.interface';

export interface BulkUpsertFailure {
  /** Position in the array given to upsertMany. */
  index: number;
  error: Error;
}

/**
 * upsertMany wrote what it could, but Redis refused some schedules (tenant quota, payload size) or
 * failed on them. `schedules` holds the ones written, `failures` the others with their errors.
 */
export class BulkUpsertError extends SchedulerError {
  constructor(
    readonly failures: BulkUpsertFailure[],
    readonly schedules: Schedule[],
  ) {
    const first = failures[0];
    super(
      'BULK_UPSERT_PARTIAL',
      `${failures.length} of ${failures.length + schedules.length} schedules were not written; ` +
        `the first (index ${first.index}): ${first.error.message}`,
    );
  }
}

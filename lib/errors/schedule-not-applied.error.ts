import { SchedulerError } from './scheduler.error';

/**
 * The change is saved in the durable schedule store, but Redis could not be written afterwards.
 * Nothing is lost: the reconciler applies it to Redis within `reconcileIntervalMs` once Redis
 * answers. Do not retry the change for its own sake (retrying is harmless: it is idempotent).
 */
export class ScheduleNotAppliedError extends SchedulerError {
  constructor(
    readonly tenantId: string,
    readonly ids: readonly string[],
    readonly reason: string,
  ) {
    const what = ids.length === 1 ? `schedule "${ids[0]}"` : `${ids.length} schedules`;
    super(
      'SCHEDULE_NOT_APPLIED',
      `The change to ${what} of tenant "${tenantId}" is saved in the schedule store but Redis could ` +
        `not be written (${reason}); the reconciler will apply it to Redis once Redis answers.`,
    );
  }
}

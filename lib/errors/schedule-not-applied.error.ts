import { SchedulerError } from './scheduler.error';

/**
 * The change is saved in the durable schedule store, but Redis could not be written afterwards.
 * Nothing is lost: the reconciler applies it to Redis within `reconcileIntervalMs` once Redis
 * answers. Retrying the call is harmless (it is idempotent) but not needed.
 */
export class ScheduleNotAppliedError extends SchedulerError {
  constructor(
    /** The schedules the call changed. */
    readonly schedules: readonly { tenantId: string; id: string }[],
    readonly reason: string,
  ) {
    const first = schedules[0];
    const what =
      schedules.length === 1
        ? `schedule "${first.id}" of tenant "${first.tenantId}"`
        : `${schedules.length} schedules`;
    super(
      'SCHEDULE_NOT_APPLIED',
      `The change to ${what} is saved in the schedule store but Redis could not be written ` +
        `(${reason}); the reconciler applies it to Redis once Redis answers, no need to retry.`,
    );
  }
}

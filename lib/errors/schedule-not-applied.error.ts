import { SchedulerError } from './scheduler.error';

/**
 * The change is saved in the durable schedule store, but Redis could not be written afterwards.
 * Nothing is lost: the reconciler applies it to Redis within `reconcileIntervalMs` once Redis
 * answers. Retrying the call is harmless (it is idempotent) but not needed.
 */
export class ScheduleNotAppliedError extends SchedulerError {
  constructor(
    /** The schedules the call changed (tenantId '' for a @DistributedCron). */
    readonly schedules: readonly { tenantId: string; id: string }[],
    readonly reason: string,
  ) {
    const first = schedules[0];
    // Tenant '': a @DistributedCron (pauseStatic / resumeStatic).
    const one =
      first?.tenantId === ''
        ? `static schedule "${first.id}"`
        : `schedule "${first?.id}" of tenant "${first?.tenantId}"`;
    const what = schedules.length === 1 ? one : `${schedules.length} schedules`;
    super(
      'SCHEDULE_NOT_APPLIED',
      `The change to ${what} is saved in the schedule store but Redis could not be written ` +
        `(${reason}); the reconciler applies it to Redis once Redis answers, no need to retry.`,
    );
  }
}

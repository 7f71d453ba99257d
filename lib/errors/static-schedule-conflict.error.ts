import { SchedulerError } from './scheduler.error';

/**
 * At boot: another live pod on the same keyPrefix declares a @DistributedCron of this name from
 * another class or method, i.e. another service; both would share one schedule.
 */
export class StaticScheduleConflictError extends SchedulerError {
  constructor(
    readonly scheduleName: string,
    readonly source: string,
    readonly otherSources: readonly string[],
    readonly keyPrefix: string,
    otherPods: readonly string[],
  ) {
    const others = otherSources.join(', ');
    const pods = otherPods.slice(0, 3).join(', ') + (otherPods.length > 3 ? ', …' : '');
    super(
      'STATIC_SCHEDULE_CONFLICT',
      `@DistributedCron "${scheduleName}" is declared here by ${source}, but live pods on keyPrefix ` +
        `"${keyPrefix}" declare it from ${others} (pods ${pods}): two services would share one ` +
        `schedule, each fire time running in only one of them. Use a distinct keyPrefix per service, ` +
        `or rename one of the schedules. (A rolling deploy that moves a named static to another ` +
        `class or method looks the same: give it a new name, or stop the old pods first.)`,
    );
  }
}

export const NON_STATIC_PROVIDER = (className: string, method: string): string =>
  `${className}@${method} is decorated for the Redis scheduler, but ${className} is request-scoped or ` +
  `depends on a request-scoped provider; it is skipped. Make it a default-scoped provider.`;

export const LATE_COMPLETION_REJECTED = (
  scheduleId: string,
  fireTime: Date,
  reason: string,
): string =>
  `Run of "${scheduleId}" for ${fireTime.toISOString()} finished after losing its lease (${reason}); ` +
  `its completion was not recorded and another pod re-runs that fire time.`;

export const RUN_FAILED = (scheduleId: string, fireTime: Date, attempt: number): string =>
  `Run of "${scheduleId}" for ${fireTime.toISOString()} (attempt ${attempt}) failed`;

export const STATIC_TIMING_DIFFERS = (
  name: string,
  source: string,
  mine: string,
  theirs: readonly string[],
): string =>
  `@DistributedCron "${name}" (${source}) is declared here with ${mine} but by other live pods ` +
  `with ${theirs.join(', ')}: this pod's timing is written now, and the last pod to boot decides. ` +
  `Expected during a rolling deploy that changes it; otherwise make the pods agree.`;

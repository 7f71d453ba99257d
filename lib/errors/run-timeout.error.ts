import { SchedulerError } from './scheduler.error';

/** A run took longer than its schedule's timeoutMs; its signal was aborted with this reason. */
export class RunTimeoutError extends SchedulerError {
  constructor(
    readonly scheduleId: string,
    readonly timeoutMs: number,
  ) {
    super(
      'RUN_TIMEOUT',
      `Run of "${scheduleId}" exceeded its timeoutMs of ${timeoutMs} ms and was aborted.`,
    );
  }
}

import { SchedulerError } from './scheduler.error';

export class LockNotAcquiredError extends SchedulerError {
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(
      'LOCK_NOT_ACQUIRED',
      `Could not acquire the lock on "${key}" within ${waitedMs} ms: another owner holds it. Pass a longer waitMs to withLock() or retry later.`,
    );
  }
}

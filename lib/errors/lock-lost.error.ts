import { SchedulerError } from './scheduler.error';

/** A lock or run lease expired or was taken over before its owner finished. */
export class LockLostError extends SchedulerError {
  constructor(
    readonly key: string,
    detail = 'its lease expired or another owner took it over',
  ) {
    super(
      'LOCK_LOST',
      `Lost the lock on "${key}": ${detail}. Work done since is not protected by it.`,
    );
  }
}

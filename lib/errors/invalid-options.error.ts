import { SchedulerError } from './scheduler.error';

/** A module option, decorator option or schedule field that cannot be used as given. */
export class InvalidOptionsError extends SchedulerError {
  constructor(
    readonly option: string,
    reason: string,
  ) {
    super('INVALID_OPTIONS', `Invalid ${option}: ${reason}.`);
  }
}

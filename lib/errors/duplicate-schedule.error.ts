import { SchedulerError } from './scheduler.error';

/** Two decorated methods claim the same static schedule or handler name. */
export class DuplicateScheduleError extends SchedulerError {
  constructor(
    readonly scheduleName: string,
    readonly first: string,
    readonly second: string,
  ) {
    super(
      'DUPLICATE_SCHEDULE',
      `"${scheduleName}" is declared twice, by ${first} and by ${second}. Give one of them another name.`,
    );
  }
}

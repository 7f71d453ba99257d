import { SchedulerError } from './scheduler.error';

/** A schedule names a handler that neither this application nor any live pod declares. */
export class UnknownHandlerError extends SchedulerError {
  constructor(
    readonly handler: string,
    known: readonly string[],
  ) {
    const list = known.length > 0 ? known.map((k) => `"${k}"`).join(', ') : 'none';
    super(
      'UNKNOWN_HANDLER',
      `No live pod declares handler '${handler}' (worker pods register their @ScheduleHandler ` +
        `methods while running; registered in this application: ${list}). Check the name, or ` +
        `start a worker with @ScheduleHandler('${handler}').`,
    );
  }
}

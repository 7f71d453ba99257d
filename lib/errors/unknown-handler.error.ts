import { SchedulerError } from './scheduler.error';

export class UnknownHandlerError extends SchedulerError {
  constructor(
    readonly handler: string,
    known: readonly string[],
  ) {
    const list = known.length > 0 ? known.map((k) => `"${k}"`).join(', ') : 'none';
    super(
      'UNKNOWN_HANDLER',
      `No @ScheduleHandler('${handler}') is registered in this application (registered: ${list}). Decorate a provider method with @ScheduleHandler('${handler}') or fix the handler name.`,
    );
  }
}

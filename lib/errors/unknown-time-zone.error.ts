import { SchedulerError } from './scheduler.error';

export class UnknownTimeZoneError extends SchedulerError {
  constructor(readonly timeZone: string) {
    super(
      'UNKNOWN_TIME_ZONE',
      `Unknown time zone "${timeZone}". Use an IANA zone name such as "UTC", "Europe/Paris" or "America/New_York".`,
    );
  }
}

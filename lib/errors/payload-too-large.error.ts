import { SchedulerError } from './scheduler.error';

export class PayloadTooLargeError extends SchedulerError {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      'PAYLOAD_TOO_LARGE',
      `The payload serialises to ${bytes} bytes of JSON; tenantGuards.maxPayloadBytes allows ${maxBytes}. Store large data elsewhere and pass a reference.`,
    );
  }
}

import { SchedulerError } from './scheduler.error';

export class InvalidIdentifierError extends SchedulerError {
  constructor(
    readonly field: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(
      'INVALID_IDENTIFIER',
      `Invalid ${field} ${JSON.stringify(value)}: ${reason}. Identifiers are 1 to 128 characters without whitespace, control characters, "{", "}" or ":".`,
    );
  }
}

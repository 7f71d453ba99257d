/**
 * Base class of every error this module throws on purpose. `code` is stable and
 * machine-readable; `message` says what was wrong and how to fix it.
 */
export class SchedulerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

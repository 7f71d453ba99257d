import { SchedulerError } from '../../index';

/** A request body, query or path parameter the admin API refuses (400); `field` names it. */
export class AdminValidationError extends SchedulerError {
  constructor(
    /** The field, dotted when nested (`retry.attempts`), or 'body' for the body as a whole. */
    readonly field: string,
    /** What is wrong with it. */
    readonly reason: string,
  ) {
    super('VALIDATION_FAILED', `Invalid "${field}": ${reason}.`);
  }
}

/** The admin API names a schedule that does not exist (404). */
export class ScheduleNotFoundError extends SchedulerError {
  constructor(
    readonly tenantId: string,
    readonly id: string,
  ) {
    super(
      'SCHEDULE_NOT_FOUND',
      `Tenant "${tenantId}" has no schedule "${id}". List its schedules with GET /tenants/${tenantId}/schedules.`,
    );
  }
}

/** POST .../schedules with the id of a schedule that exists (409): PUT replaces it. */
export class ScheduleExistsError extends SchedulerError {
  constructor(
    readonly tenantId: string,
    readonly id: string,
  ) {
    super(
      'SCHEDULE_EXISTS',
      `Tenant "${tenantId}" already has a schedule "${id}". Use PUT /tenants/${tenantId}/schedules/${id} to replace it.`,
    );
  }
}

import { SchedulerError } from './scheduler.error';

export class TenantQuotaExceededError extends SchedulerError {
  constructor(
    readonly tenantId: string,
    readonly limit: number,
  ) {
    super(
      'TENANT_QUOTA_EXCEEDED',
      `Tenant "${tenantId}" already has ${limit} schedules, the most tenantGuards.maxSchedulesPerTenant allows. Remove one first or raise the limit.`,
    );
  }
}

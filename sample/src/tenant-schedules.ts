import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerService } from 'nestjs-redis-scheduler';

const TENANTS = ['acme', 'globex', 'initech'];

/** Upserts a few tenant schedules at start; idempotent, so every replica may do it. */
@Injectable()
export class TenantSchedules implements OnApplicationBootstrap {
  private readonly logger = new Logger(TenantSchedules.name);

  constructor(private readonly scheduler: SchedulerService) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const [i, tenantId] of TENANTS.entries()) {
      const schedule = await this.scheduler.upsert({
        tenantId,
        id: 'status-report',
        cron: `${i * 2}-59/5 * * * * *`,
        timeZone: 'Europe/Paris',
        handler: 'report.generate',
        payload: { reportId: `${tenantId}-status` },
        jitterMs: 500,
      });
      this.logger.log(
        `${tenantId}/${schedule.id} next fires at ${schedule.nextFireAt?.toISOString()}`,
      );
    }
  }
}

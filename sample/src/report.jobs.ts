import { Injectable, Logger } from '@nestjs/common';
import { DistributedCron, ScheduleContext, ScheduleHandler } from 'nestjs-redis-scheduler';

export interface ReportPayload {
  reportId: string;
}

/** The handlers: one static schedule and one target of the dynamic tenant schedules. */
@Injectable()
export class ReportJobs {
  private readonly logger = new Logger(ReportJobs.name);

  /** Every 10 seconds, on one replica only. */
  @DistributedCron('*/10 * * * * *', { name: 'cleanup' })
  async cleanup(ctx: ScheduleContext): Promise<void> {
    this.log('cleanup', ctx);
  }

  @ScheduleHandler('report.generate')
  async generate(payload: ReportPayload, ctx: ScheduleContext): Promise<void> {
    this.log(`report ${payload.reportId} for tenant ${ctx.tenantId}`, ctx);
  }

  private log(what: string, ctx: ScheduleContext): void {
    this.logger.log(
      `pid ${process.pid} ran ${ctx.scheduleId} (${what}) fire ${ctx.fireTime.toISOString()} ` +
        `attempt ${ctx.attempt} fencing ${ctx.fencingToken}`,
    );
  }
}

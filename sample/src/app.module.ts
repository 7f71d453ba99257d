import { Module } from '@nestjs/common';
import { RedisSchedulerModule } from 'nestjs-redis-scheduler';
import { ReportJobs } from './report.jobs';
import { TenantSchedules } from './tenant-schedules';

@Module({
  imports: [
    RedisSchedulerModule.forRoot({
      redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: process.env.KEY_PREFIX ?? 'rsched-sample',
      // The demo fires every few seconds; production tenants usually get a minute or more.
      tenantGuards: { maxSchedulesPerTenant: 10, minIntervalMs: 1_000 },
    }),
  ],
  providers: [ReportJobs, TenantSchedules],
})
export class AppModule {}

import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SchedulerHealthIndicator } from './scheduler-health.indicator';

/**
 * Provides SchedulerHealthIndicator for a Terminus `HealthCheckService.check([...])`. Needs
 * `RedisSchedulerModule` in the app (global by default).
 */
@Module({
  imports: [TerminusModule],
  providers: [SchedulerHealthIndicator],
  exports: [SchedulerHealthIndicator],
})
export class SchedulerHealthModule {}

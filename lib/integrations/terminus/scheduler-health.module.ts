import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { SchedulerHealthIndicator } from './scheduler-health.indicator';

/**
 * Provides SchedulerHealthIndicator for a Terminus `HealthCheckService.check([...])`, and
 * re-exports TerminusModule (so HealthCheckService is at hand). Needs `RedisSchedulerModule` in the
 * app (global by default).
 */
@Module({
  imports: [TerminusModule],
  providers: [SchedulerHealthIndicator],
  exports: [SchedulerHealthIndicator, TerminusModule],
})
export class SchedulerHealthModule {}

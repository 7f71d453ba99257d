export { SchedulerHealthIndicator } from './scheduler-health.indicator';
export type { SchedulerHealthOptions } from './scheduler-health.indicator';
export { SchedulerHealthModule } from './scheduler-health.module';

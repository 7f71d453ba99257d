export { SchedulerMetricsModule } from './scheduler-metrics.module';
export { SchedulerMetrics } from './scheduler-metrics';
export type { SchedulerMetricsOptions } from './scheduler-metrics.options';
export { NO_TENANT, OTHER_TENANTS } from './tenant-labels';

export { SchedulerTracingModule } from './scheduler-tracing.module';
export { SchedulerTracing, SCHEDULER_TRACER_NAME, RUN_SPAN_ATTRIBUTES } from './scheduler-tracing';

import { Module } from '@nestjs/common';
import { SchedulerTracing } from './scheduler-tracing';

/**
 * Traces every run of this app's scheduler with `@opentelemetry/api` (SchedulerTracing). Set up
 * an OpenTelemetry SDK (a tracer provider) before the app starts; without one the spans are no-ops.
 */
@Module({ providers: [SchedulerTracing] })
export class SchedulerTracingModule {}

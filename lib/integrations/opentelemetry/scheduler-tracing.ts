import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  type Attributes,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type InstrumentedRun, RunInstrumentation } from '../../index';

/** Name of the tracer (instrumentation scope) the spans come from. */
export const SCHEDULER_TRACER_NAME = 'nestjs-redis-scheduler';

/** Span attribute names of a run. */
export const RUN_SPAN_ATTRIBUTES = {
  handler: 'scheduler.handler',
  scheduleId: 'scheduler.schedule_id',
  tenantId: 'scheduler.tenant_id',
  fireTime: 'scheduler.fire_time',
  attempt: 'scheduler.attempt',
  fencingToken: 'scheduler.fencing_token',
  outcome: 'scheduler.outcome',
} as const;

/**
 * Makes each run a span `schedule.run <handler or static name>`, a root span active while the
 * handler runs (so the handler's own spans nest under it), with the run's schedule id, tenant,
 * fire time, attempt, fencing token and the handler's outcome ('succeeded' or 'failed'; whether a
 * failure is retried is on the `scheduler.run.retrying` event), and the error recorded on failure.
 * Uses the global tracer provider: without an OpenTelemetry SDK its spans are no-ops and the
 * handler is called without entering a context. Attributes are set on recorded spans only.
 */
@Injectable()
export class SchedulerTracing implements OnModuleInit, OnModuleDestroy {
  private remove: (() => void) | undefined;
  private tracer: Tracer | undefined;

  constructor(private readonly instrumentation: RunInstrumentation) {}

  onModuleInit(): void {
    this.tracer = trace.getTracer(SCHEDULER_TRACER_NAME);
    this.remove = this.instrumentation.use((run, invoke) => this.traced(run, invoke));
  }

  onModuleDestroy(): void {
    this.remove?.();
  }

  private traced(run: InstrumentedRun, invoke: () => Promise<unknown>): Promise<unknown> {
    const tracer = this.tracer ?? trace.getTracer(SCHEDULER_TRACER_NAME);
    const span = tracer.startSpan(
      `schedule.run ${run.handler}`,
      { kind: SpanKind.INTERNAL },
      ROOT_CONTEXT,
    );
    // No SDK (the API's no-op tracer): nothing to record and no trace to join, so no context to
    // enter either. A span an SDK sampled out still becomes the active parent, as usual.
    if (!span.isRecording() && !isSpanContextValid(span.spanContext())) return invoke();
    if (span.isRecording()) span.setAttributes(attributesOf(run));
    return context
      .with(trace.setSpan(ROOT_CONTEXT, span), invoke)
      .then(succeeded(span), failed(span));
  }
}

/** The run's span attributes. */
function attributesOf(run: InstrumentedRun): Attributes {
  const ctx = run.context;
  const attributes: Attributes = {
    [RUN_SPAN_ATTRIBUTES.handler]: run.handler,
    [RUN_SPAN_ATTRIBUTES.scheduleId]: ctx.scheduleId,
    [RUN_SPAN_ATTRIBUTES.fireTime]: ctx.fireTime.toISOString(),
    [RUN_SPAN_ATTRIBUTES.attempt]: ctx.attempt,
    [RUN_SPAN_ATTRIBUTES.fencingToken]: ctx.fencingToken,
  };
  if (ctx.tenantId !== undefined) attributes[RUN_SPAN_ATTRIBUTES.tenantId] = ctx.tenantId;
  return attributes;
}

const succeeded =
  (span: Span) =>
  (result: unknown): unknown => {
    if (span.isRecording()) span.setAttribute(RUN_SPAN_ATTRIBUTES.outcome, 'succeeded');
    span.end();
    return result;
  };

const failed =
  (span: Span) =>
  (error: unknown): never => {
    span.setAttribute(RUN_SPAN_ATTRIBUTES.outcome, 'failed');
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
    throw error;
  };

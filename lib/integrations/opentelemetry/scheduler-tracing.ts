import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import {
  context,
  INVALID_SPAN_CONTEXT,
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

/** Options of every run span: a root span (the run's own trace), INTERNAL. */
const SPAN_OPTIONS = { kind: SpanKind.INTERNAL } as const;

/**
 * Makes each run a span `schedule.run <handler or static name>`, a root span active while the
 * handler runs (so the handler's own spans nest under it), with the run's schedule id, tenant,
 * fire time, attempt, fencing token and the handler's outcome ('succeeded' or 'failed'; whether a
 * failure is retried is on the `scheduler.run.retrying` event), and the error recorded on failure.
 * Uses the global tracer provider: without an OpenTelemetry SDK its spans are no-ops and the
 * handler is called without entering a context. Attributes are set on recorded spans only.
 *
 * Per run: an observer starts the span (kept in `run.scope`) and ends it, a hook enters its
 * context around the handler; no closure or promise of its own, span names and fire time strings
 * cached (the runs of one fire time share it).
 */
@Injectable()
export class SchedulerTracing implements OnModuleInit, OnModuleDestroy {
  private readonly stops: (() => void)[] = [];
  private tracer: Tracer | undefined;
  private readonly names = new Map<string, string>();
  private lastFireMs = NaN;
  private lastFireIso = '';

  constructor(private readonly instrumentation: RunInstrumentation) {}

  onModuleInit(): void {
    this.tracer = trace.getTracer(SCHEDULER_TRACER_NAME);
    this.stops.push(this.instrumentation.observe(this), this.instrumentation.use(enterSpan));
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /** RunObserver: the run's span, started before the hook enters it. */
  started(run: InstrumentedRun): void {
    const tracer = this.tracer ?? (this.tracer = trace.getTracer(SCHEDULER_TRACER_NAME));
    const span = tracer.startSpan(this.spanName(run.handler), SPAN_OPTIONS, ROOT_CONTEXT);
    if (span.isRecording()) {
      this.setAttributes(span, run);
      run.scope = span;
      return;
    }
    // No SDK (the API's no-op tracer, whose span context is INVALID_SPAN_CONTEXT itself, so no
    // regular expression per run): nothing to record and no trace to join, so no context to enter
    // either. A span an SDK sampled out still becomes the active parent (so that the handler's
    // own spans are sampled out with it), but gets nothing else: no attributes, no end.
    const spanContext = span.spanContext();
    if (spanContext !== INVALID_SPAN_CONTEXT && isSpanContextValid(spanContext)) {
      run.scope = span;
    }
  }

  /** RunObserver: the handler settled. */
  ended(run: InstrumentedRun, error: unknown, failed: boolean): void {
    const span = run.scope as Span | undefined;
    // A sampled-out span: ending it would do nothing.
    if (span === undefined || !span.isRecording()) return;
    if (!failed) {
      span.setAttribute(RUN_SPAN_ATTRIBUTES.outcome, 'succeeded');
      span.end();
      return;
    }
    span.setAttribute(RUN_SPAN_ATTRIBUTES.outcome, 'failed');
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({
      code: SpanStatusCode.ERROR,
      message: error instanceof Error ? error.message : String(error),
    });
    span.end();
  }

  private spanName(handler: string): string {
    let name = this.names.get(handler);
    if (name === undefined) this.names.set(handler, (name = `schedule.run ${handler}`));
    return name;
  }

  /**
   * The run's span attributes, set one by one on the recorded span: no attributes object per run
   * (which the SDK's setAttributes would walk key by key into the same setAttribute calls), nor
   * startSpan's attributes (copied and checked twice before being set).
   */
  private setAttributes(span: Span, run: InstrumentedRun): void {
    const ctx = run.context;
    const fireMs = ctx.fireTime.getTime();
    if (fireMs !== this.lastFireMs) {
      this.lastFireIso = ctx.fireTime.toISOString();
      this.lastFireMs = fireMs;
    }
    span.setAttribute(RUN_SPAN_ATTRIBUTES.handler, run.handler);
    span.setAttribute(RUN_SPAN_ATTRIBUTES.scheduleId, ctx.scheduleId);
    span.setAttribute(RUN_SPAN_ATTRIBUTES.fireTime, this.lastFireIso);
    span.setAttribute(RUN_SPAN_ATTRIBUTES.attempt, ctx.attempt);
    span.setAttribute(RUN_SPAN_ATTRIBUTES.fencingToken, ctx.fencingToken);
    if (ctx.tenantId !== undefined) span.setAttribute(RUN_SPAN_ATTRIBUTES.tenantId, ctx.tenantId);
  }
}

/** RunHook: the handler runs with the run's span active (when there is one to enter). */
function enterSpan(run: InstrumentedRun, invoke: () => Promise<unknown>): Promise<unknown> {
  const span = run.scope as Span | undefined;
  if (span === undefined) return invoke();
  return context.with(trace.setSpan(ROOT_CONTEXT, span), invoke);
}

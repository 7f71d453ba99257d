import { Injectable } from '@nestjs/common';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  DistributedCron,
  RedisSchedulerModule,
  RunInstrumentation,
  ScheduleHandler,
  SchedulerService,
  type ScheduleContext,
} from 'nestjs-redis-scheduler';
import {
  RUN_SPAN_ATTRIBUTES as A,
  SCHEDULER_TRACER_NAME,
  SchedulerTracingModule,
} from 'nestjs-redis-scheduler/opentelemetry';
import { bootModule, closeBooted, freshPrefix } from '../../support/create-app';
import { RedisServerHandle, startRedisServer } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

/*
 * Issue 11, item 3: each run is a span `schedule.run <handler or static name>` with the run's
 * attributes, the error recorded on failure, active while the handler runs (the handler's own
 * spans nest under it). Spans are read with the SDK's in-memory exporter.
 */

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager().enable();

let server: RedisServerHandle;
beforeAll(async () => {
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(provider);
  server = await startRedisServer();
});
afterAll(async () => {
  await server.stop();
  await provider.shutdown();
  trace.disable();
  context.disable();
});
afterEach(async () => {
  await closeBooted();
  exporter.reset();
});

const contexts: ScheduleContext[] = [];
const childOf = new Map<number, string | undefined>();

@Injectable()
class Jobs {
  @DistributedCron('* * * * * *', { name: 'nightly-traced' })
  nightly(ctx: ScheduleContext): void {
    contexts.push(ctx);
    // The handler's own span, made the usual way: it must nest under the run's span.
    trace.getTracer('app').startActiveSpan('child work', (span) => {
      childOf.set(ctx.fencingToken, trace.getActiveSpan()?.spanContext().spanId);
      span.end();
    });
  }

  @ScheduleHandler('report.generate')
  async generate(_: unknown, ctx: ScheduleContext): Promise<void> {
    contexts.push(ctx);
    await new Promise((resolve) => setImmediate(resolve));
    throw new Error(`report failed (attempt ${ctx.attempt})`);
  }
}

const open = { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 };
const modules = (tracing: boolean) => [
  RedisSchedulerModule.forRoot({ redis: server.url, keyPrefix: freshPrefix(), tenantGuards: open }),
  ...(tracing ? [SchedulerTracingModule] : []),
];

const runSpans = (): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.instrumentationScope.name === SCHEDULER_TRACER_NAME);

describe('SchedulerTracingModule with the OpenTelemetry SDK', () => {
  it('makes each run of a static schedule a span, with its attributes, the handler span under it', async () => {
    contexts.length = 0;
    await bootModule(modules(true), [Jobs]);
    const span = await waitFor(
      () => runSpans().find((s) => s.name === 'schedule.run nightly-traced'),
      { message: 'a run span' },
    );
    const ctx = contexts.find((c) => c.fencingToken === span.attributes[A.fencingToken]);
    expect(ctx).toBeDefined();
    expect(span.attributes).toEqual({
      [A.handler]: 'nightly-traced',
      [A.scheduleId]: 'nightly-traced',
      [A.fireTime]: ctx?.fireTime.toISOString(),
      [A.attempt]: 1,
      [A.fencingToken]: ctx?.fencingToken,
      [A.outcome]: 'succeeded',
    });
    expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(span.parentSpanContext).toBeUndefined();

    const child = exporter.getFinishedSpans().find((s) => s.name === 'child work');
    expect(child?.spanContext().traceId).toBe(span.spanContext().traceId);
    expect(child?.parentSpanContext?.spanId).toBe(span.spanContext().spanId);
    // And inside the handler, the run's span was the active one.
    expect(childOf.has(span.attributes[A.fencingToken] as number)).toBe(true);
  });

  it('records the error of a failed run, with the tenant, attempt after attempt', async () => {
    contexts.length = 0;
    const module = await bootModule(modules(true), [Jobs]);
    await module.get(SchedulerService).upsert({
      tenantId: 'acme',
      id: 'weekly',
      cron: '* * * * * *',
      handler: 'report.generate',
      retry: { attempts: 2, backoff: 'fixed', delayMs: 100, jitter: false },
    });
    const spans = await waitFor(
      () => {
        const s = runSpans().filter((x) => x.name === 'schedule.run report.generate');
        return s.some((x) => x.attributes[A.attempt] === 2) ? s : undefined;
      },
      { message: 'a first and a second attempt' },
    );
    const second = spans.find((s) => s.attributes[A.attempt] === 2);
    expect(second?.attributes).toMatchObject({
      [A.handler]: 'report.generate',
      [A.scheduleId]: 'weekly',
      [A.tenantId]: 'acme',
      [A.outcome]: 'failed',
    });
    expect(second?.status).toEqual({
      code: SpanStatusCode.ERROR,
      message: 'report failed (attempt 2)',
    });
    const exception = second?.events.find((e) => e.name === 'exception');
    expect(exception?.attributes?.['exception.message']).toBe('report failed (attempt 2)');
    await module.get(SchedulerService).remove('acme', 'weekly');
  });

  it('without the module, registers no hook and makes no run span', async () => {
    contexts.length = 0;
    const module = await bootModule(modules(false), [Jobs]);
    expect(module.get(RunInstrumentation).wrap).toBeUndefined();
    await waitFor(() => contexts.length >= 2, { message: 'two runs' });
    expect(runSpans()).toEqual([]);
    // The handler's own spans are still made, as roots.
    expect(exporter.getFinishedSpans().some((s) => s.name === 'child work')).toBe(true);
  });
});

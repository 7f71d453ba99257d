import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { RunInstrumentation, type ScheduleContext } from '../../../lib';
import { RunAbort } from '../../../lib/engine/run-abort';
import { RunExecutor, type RunSpec } from '../../../lib/engine/run-executor';
import { SchedulerTracing } from '../../../lib/integrations/opentelemetry/scheduler-tracing';

/*
 * Issue 11, item 3/5: what SchedulerTracing does with a span the SDK sampled out (it stays the
 * handler's active parent, so the handler's own spans are sampled out with it, and nothing is
 * recorded) and without an SDK (no span to enter). The run path as the engine drives it: a
 * RunExecutor with the module's observer and hook.
 */

const FIRE_MS = Date.UTC(2030, 0, 2, 3, 4, 0);

function spec(invoke: (payload: unknown, ctx: ScheduleContext) => unknown): RunSpec {
  return {
    handler: { key: 'h:job', name: 'job', kind: 'dynamic', source: 'Jobs.run', invoke },
    payloadJson: '',
    scheduleId: 'job-1',
    tenantId: 'acme',
    fireMs: FIRE_MS,
    dueMs: FIRE_MS,
    attempt: 1,
    fencingToken: 7,
    trigger: undefined,
    timeoutMs: 0,
    abort: new RunAbort(),
  };
}

/** The active span inside the handler, and the handler's own span (made the usual way). */
async function runTraced(fail: boolean) {
  const instrumentation = new RunInstrumentation();
  const tracing = new SchedulerTracing(instrumentation);
  tracing.onModuleInit();
  const seen: { active?: ReturnType<typeof trace.getActiveSpan> } = {};
  try {
    const outcome = await new RunExecutor(instrumentation).run(
      spec(async () => {
        seen.active = trace.getActiveSpan();
        await trace.getTracer('app').startActiveSpan('child work', async (span) => {
          await new Promise((resolve) => setImmediate(resolve));
          span.end();
        });
        if (fail) throw new Error('boom');
      }),
    );
    return { outcome, active: seen.active };
  } finally {
    tracing.onModuleDestroy();
  }
}

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(contextManager.enable()));
afterAll(() => context.disable());
afterEach(() => trace.disable());

describe('SchedulerTracing with sampled-out spans and without an SDK', () => {
  it('keeps a sampled-out run span active, so the handler’s spans are sampled out too', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({
        sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        spanProcessors: [new SimpleSpanProcessor(exporter)],
      }),
    );
    for (const fail of [false, true]) {
      const { outcome, active } = await runTraced(fail);
      expect(outcome.status).toBe(fail ? 'failed' : 'succeeded');
      expect(active).toBeDefined();
      expect(active?.isRecording()).toBe(false);
      expect(trace.isSpanContextValid(active!.spanContext())).toBe(true);
    }
    // Neither the run spans nor the handler's (children of a sampled-out parent) were recorded.
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('without an SDK, enters no span: the handler sees none and its own spans are no-ops', async () => {
    const { outcome, active } = await runTraced(false);
    expect(outcome.status).toBe('succeeded');
    expect(active).toBeUndefined();
  });

  it('with every span recorded, the handler’s span nests under the run’s', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
    const { active } = await runTraced(true);
    const spans = exporter.getFinishedSpans();
    const run = spans.find((s) => s.name === 'schedule.run job');
    const child = spans.find((s) => s.name === 'child work');
    expect(active?.spanContext().spanId).toBe(run?.spanContext().spanId);
    expect(child?.parentSpanContext?.spanId).toBe(run?.spanContext().spanId);
    expect(run?.attributes).toEqual({
      'scheduler.handler': 'job',
      'scheduler.schedule_id': 'job-1',
      'scheduler.fire_time': new Date(FIRE_MS).toISOString(),
      'scheduler.attempt': 1,
      'scheduler.fencing_token': 7,
      'scheduler.tenant_id': 'acme',
      'scheduler.outcome': 'failed',
    });
  });
});

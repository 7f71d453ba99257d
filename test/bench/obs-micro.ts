/**
 * Micro-benchmark of the per-run cost of the observability integrations (issue 11, item 5),
 * without Redis: drives the run executor (RunInstrumentation's observers and hook) and the
 * `run.succeeded` event of each run, N times, with what `--mode` turns on, and prints ns per run.
 *
 *   node -r ts-node/register/transpile-only test/bench/obs-micro.ts [--mode M] [--runs N] [--reps R]
 *
 * Modes (comma-separated parts): `none`; `metrics` (SchedulerMetrics, its own Registry);
 * `tracing` (SchedulerTracing); `sdk` (a BasicTracerProvider recording every span, no exporter);
 * `sample=<ratio>` (the SDK with a parent-based trace-id ratio sampler); `context` (the
 * AsyncLocalStorage context manager). Default: every mode of MODES in turn, in child processes.
 * For a deterministic count, run one mode under `valgrind --tool=callgrind` with two values of
 * `--runs` and subtract (see test/bench/README.md).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { RunInstrumentation } from '../../lib/events/run-instrumentation';
import { SchedulerEvents } from '../../lib/events/scheduler-events';
import { RunAbort } from '../../lib/engine/run-abort';
import { RunExecutor, type RunSpec } from '../../lib/engine/run-executor';
import type { Claimed } from '../../lib/engine/claimed-run';
import { describe } from '../../lib/engine/run-payloads';
import type { SchedulerMonitor } from '../../lib/monitor/scheduler-monitor';
import { SchedulerMetrics } from '../../lib/integrations/prometheus/scheduler-metrics';
import { SchedulerTracing } from '../../lib/integrations/opentelemetry/scheduler-tracing';

const MODES = [
  'none',
  'context',
  'sdk,context',
  'metrics',
  'tracing',
  'tracing,sdk,context',
  'tracing,sample=0.1,context',
  'metrics,tracing',
  'metrics,tracing,sdk,context',
  'metrics,tracing,sample=0.1,context',
];

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    runs: { type: 'string', default: '200000' },
    reps: { type: 'string', default: '8' },
  },
});

async function bench(mode: string, runs: number, reps: number): Promise<number[]> {
  const parts = new Set(mode.split(','));
  const sample = [...parts].find((p) => p.startsWith('sample='));
  if (parts.has('context')) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  if (parts.has('sdk') || sample) {
    const ratio = sample ? Number(sample.slice('sample='.length)) : undefined;
    trace.setGlobalTracerProvider(
      new BasicTracerProvider(
        ratio === undefined
          ? {}
          : { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) },
      ),
    );
  }
  const events = new SchedulerEvents();
  const instrumentation = new RunInstrumentation();
  const monitor = { redisTime: () => performance.now() } as unknown as SchedulerMonitor;
  if (parts.has('metrics')) {
    new SchedulerMetrics(
      { registry: new Registry() },
      events,
      instrumentation,
      monitor,
    ).onModuleInit();
  }
  if (parts.has('tracing')) new SchedulerTracing(instrumentation).onModuleInit();
  const executor = new RunExecutor(instrumentation);
  const handler = {
    key: 'h:noop',
    name: 'noop',
    kind: 'dynamic' as const,
    source: 'Bench.noop',
    invoke: () => Promise.resolve(undefined),
  };
  const fireMs = Date.now() - (Date.now() % 1000);
  const claimed = {
    info: { id: 's-1', tenantId: 'acme' },
    source: { handler },
    run: { fireMs, attempt: 1, fencingToken: 7 },
  } as unknown as Claimed;
  const once = async (i: number): Promise<void> => {
    const spec: RunSpec = {
      handler,
      payloadJson: '',
      scheduleId: `s-${i % 5000}`,
      tenantId: 'acme',
      fireMs: fireMs + 1000 * Math.floor(i / 5000),
      dueMs: fireMs,
      attempt: 1,
      fencingToken: i,
      trigger: undefined,
      timeoutMs: 0,
      abort: new RunAbort(),
    };
    await executor.run(spec);
    if (events.wants('run.succeeded')) events.emit('run.succeeded', describe(claimed));
  };
  const perRun: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) await once(i);
    perRun.push(((performance.now() - t0) * 1e6) / Math.max(1, runs));
  }
  return perRun;
}

async function main(): Promise<void> {
  const runs = Number(values.runs);
  const reps = Number(values.reps);
  if (values.mode !== undefined) {
    const perRun = await bench(values.mode, runs, reps);
    process.stdout.write(`${JSON.stringify({ mode: values.mode, perRun })}\n`);
    return;
  }
  // Every mode in its own process (a global tracer provider cannot be unset), twice, interleaved.
  const results = new Map<string, number[]>();
  for (let round = 0; round < 2; round++) {
    for (const mode of MODES) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, __filename, '--mode', mode, '--runs', `${runs}`, '--reps', `${reps}`],
        { encoding: 'utf8' },
      );
      const { perRun } = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { perRun: number[] };
      // The first two repetitions warm up the JIT: not counted.
      results.set(mode, [...(results.get(mode) ?? []), ...perRun.slice(2)]);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const base = median(results.get('none') ?? []);
  for (const mode of MODES) {
    const m = median(results.get(mode) ?? []);
    process.stdout.write(
      `${mode.padEnd(36)} ${m.toFixed(0).padStart(6)} ns/run  +${(m - base).toFixed(0).padStart(5)} ns over none\n`,
    );
  }
}

void main();

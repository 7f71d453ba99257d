/**
 * An ours pod with the observability integrations on (issue 11, item 5): the pod of ours-pod.ts
 * plus SchedulerMetricsModule (its own prom-client Registry, scraped every 5 s as Prometheus would,
 * which samples the due backlog) and SchedulerTracingModule with an OpenTelemetry SDK registered
 * (a BasicTracerProvider that samples every span, and the AsyncLocalStorage context manager) but
 * no exporter: the cost of making the spans, not of shipping them.
 */
import 'reflect-metadata';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';
import { Inject, Module } from '@nestjs/common';
import { builtLibrary } from './ours-options';
import { runPod } from './pod-protocol';
import { createPod } from './ours-pod';

/** Scrape period of the pod's metrics registry. */
const SCRAPE_MS = 5_000;

// The built integrations (dist/), as an application loads the package's subpaths.
/* eslint-disable @typescript-eslint/no-require-imports */
const { SchedulerMetricsModule } =
  require('../../dist/integrations/prometheus') as typeof import('../../lib/integrations/prometheus');
const { SchedulerTracingModule } =
  require('../../dist/integrations/opentelemetry') as typeof import('../../lib/integrations/opentelemetry');
/* eslint-enable @typescript-eslint/no-require-imports */

const { SchedulerEvents } = builtLibrary();

/** `listen`: a no-op listener of every run's end, to tell the events' cost from the metrics'. */
@Module({})
class ListenModule {
  constructor(@Inject(SchedulerEvents) events: InstanceType<typeof SchedulerEvents>) {
    for (const e of ['run.succeeded', 'run.failed', 'run.retrying'] as const) {
      events.on(e, () => undefined);
    }
  }
}

/**
 * What is on (`--opt obs=...`, comma-separated; default all): `metrics`, `scrape` (of the metrics, every 5 s), `tracing` (the module),
 * `sdk` (a tracer provider), `context` (the AsyncLocalStorage context manager); `listen` (no-op event listeners).
 * `--opt sample=<ratio>` gives the tracer provider a parent-based trace-id ratio sampler (default:
 * every span recorded).
 */
const PARTS = ['metrics', 'scrape', 'tracing', 'sdk', 'context'];

/** The tracer provider's config for `--opt sample=<ratio>` (0..1); none without it. */
function samplerOf(options: Record<string, string>): { sampler?: ParentBasedSampler } {
  if (options['sample'] === undefined) return {};
  const ratio = Number(options['sample']);
  if (!(ratio >= 0 && ratio <= 1)) throw new Error(`bad sample ratio '${options['sample']}'`);
  return { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) }) };
}

/** Runs a pod with `parts` on (or those of `--opt obs=...` when `fromOptions`). */
export function runObservabilityPod(parts: string[], fromOptions: boolean): void {
  runPod((ctx) => {
    const on = new Set(fromOptions && ctx.options['obs'] ? ctx.options['obs'].split(',') : parts);
    if (on.has('context')) {
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
    if (on.has('sdk'))
      trace.setGlobalTracerProvider(new BasicTracerProvider(samplerOf(ctx.options)));
    const imports = [];
    if (on.has('metrics')) {
      const registry = new Registry();
      if (on.has('scrape')) setInterval(() => void registry.metrics(), SCRAPE_MS).unref();
      imports.push(SchedulerMetricsModule.forRoot({ registry }));
    }
    if (on.has('tracing')) imports.push(SchedulerTracingModule);
    if (on.has('listen')) imports.push(ListenModule);
    return createPod(ctx, imports);
  });
}

if (require.main === module) runObservabilityPod(PARTS, true);

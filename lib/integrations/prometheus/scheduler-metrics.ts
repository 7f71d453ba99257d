import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, register as globalRegister, type Registry } from 'prom-client';
import {
  type InstrumentedRun,
  RunInstrumentation,
  SchedulerEvents,
  SchedulerMonitor,
} from '../../index';
import {
  DEFAULT_TOP_TENANTS,
  SCHEDULER_METRICS_OPTIONS,
  type SchedulerMetricsOptions,
} from './scheduler-metrics.options';
import { BucketHistogram, CounterBuffer, DEFAULT_BUCKETS } from './metric-buffers';
import { CircuitStates } from './circuit-states';
import { TenantLabels } from './tenant-labels';

const LATENESS_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The scheduler's Prometheus metrics (names with the default prefix):
 * `scheduler_runs_total{handler,outcome}` (succeeded, failed, retrying, rejected, skipped),
 * `scheduler_run_lateness_seconds{handler}` and `scheduler_run_duration_seconds{handler}`
 * (histograms), `scheduler_runs_in_flight`, `scheduler_reserved_runs`,
 * `scheduler_due_backlog_seconds` (sampled at each scrape: one ZRANGE per due index),
 * `scheduler_lease_lost_total`, `scheduler_redis_errors_total{operation}` and
 * `scheduler_http_target_circuit_state{host}` (0 closed, 1 half-open, 2 open: the 'target.circuit'
 * event; also by `tenant` with the tenant label, see CircuitStates). Counts come from SchedulerEvents; lateness and duration from a run hook (two clock
 * reads per run).
 */
@Injectable()
export class SchedulerMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly registry: Registry;
  private readonly names: string[] = [];
  private readonly stops: (() => void)[] = [];
  private readonly tenants: TenantLabels | undefined;
  /** Series keys by handler and tenant label (with a tenant label only). */
  private readonly keys = new Map<string, Map<string, string>>();
  private readonly runs: CounterBuffer;
  private readonly lateness: BucketHistogram;
  private readonly duration: BucketHistogram;
  private readonly leaseLost: Counter<string>;
  private readonly redisErrors: Counter<string>;
  private readonly circuits: CircuitStates;

  constructor(
    @Inject(SCHEDULER_METRICS_OPTIONS) options: SchedulerMetricsOptions,
    private readonly events: SchedulerEvents,
    private readonly instrumentation: RunInstrumentation,
    private readonly monitor: SchedulerMonitor,
  ) {
    this.registry = options.registry ?? globalRegister;
    const prefix = options.prefix ?? 'scheduler_';
    const tenant = options.tenantLabel;
    if (tenant) {
      this.tenants = new TenantLabels(
        (typeof tenant === 'object' ? tenant.topN : undefined) ?? DEFAULT_TOP_TENANTS,
      );
    }
    const runLabels = this.tenants ? ['handler', 'tenant'] : ['handler'];
    const registers = [this.registry];
    const named = <T>(name: string, make: (name: string) => T): T => {
      this.names.push(prefix + name);
      return make(prefix + name);
    };
    // Runs are counted and timed in buffers, flushed into prom-client at each scrape.
    const flushing = (buffer: () => { flush(): void }) => ({
      collect: () => buffer().flush(),
    });
    this.runs = named(
      'runs_total',
      (name) =>
        new CounterBuffer(
          new Counter({
            name,
            help: 'Runs of this pod by outcome (skipped: fire times passed over)',
            labelNames: [...runLabels, 'outcome'],
            registers,
            ...flushing(() => this.runs),
          }),
          (key, outcome) => ({ ...this.labels(key), outcome }),
        ),
    );
    // Lateness and duration are counted into their buckets by BucketHistogram, not per value by
    // prom-client's observe.
    this.lateness = named(
      'run_lateness_seconds',
      (name) =>
        new BucketHistogram(
          {
            name,
            help: 'Time from a run’s due time (fire time + jitter) to its handler’s start',
            labelNames: runLabels,
            buckets: options.latenessBuckets ?? LATENESS_BUCKETS,
            registers,
          },
          (key) => this.labels(key),
        ),
    );
    this.duration = named(
      'run_duration_seconds',
      (name) =>
        new BucketHistogram(
          {
            name,
            help: 'How long handlers ran',
            labelNames: runLabels,
            buckets: options.durationBuckets ?? DEFAULT_BUCKETS,
            registers,
          },
          (key) => this.labels(key),
        ),
    );
    const mon = this.monitor;
    named(
      'runs_in_flight',
      (name) =>
        new Gauge({
          name,
          help: 'Handlers running on this pod',
          registers,
          collect() {
            this.set(mon.snapshot().runsInFlight);
          },
        }),
    );
    named(
      'reserved_runs',
      (name) =>
        new Gauge({
          name,
          help: 'Runs reserved ahead of their due time by this pod, not started yet',
          registers,
          collect() {
            this.set(mon.snapshot().reservedRuns);
          },
        }),
    );
    const timeoutMs = options.backlogTimeoutMs ?? 1_000;
    named(
      'due_backlog_seconds',
      (name) =>
        new Gauge({
          name,
          help: 'How late the oldest due run of this pod’s handlers is (0: none late), sampled at scrape',
          registers,
          async collect() {
            const sample = await mon.sampleBacklog(timeoutMs);
            // Unknown (Redis down): no sample rather than a made-up value.
            if (sample.ok) this.set(sample.lateMs / 1000);
            else this.reset();
          },
        }),
    );
    this.leaseLost = named(
      'lease_lost_total',
      (name) => new Counter({ name, help: 'Runs whose lease was lost while running', registers }),
    );
    this.redisErrors = named(
      'redis_errors_total',
      (name) =>
        new Counter({
          name,
          help: 'Failed Redis calls of the engine (claim, complete, renew)',
          labelNames: ['operation'],
          registers,
        }),
    );
    const circuits = (this.circuits = new CircuitStates(this.tenants));
    named(
      'http_target_circuit_state',
      (name) =>
        new Gauge({
          name,
          help: 'Circuit breakers of HTTP target hosts on this pod (the worst of a series): 0 closed, 1 half-open, 2 open',
          labelNames: circuits.labelNames,
          registers,
          collect() {
            circuits.collect(this);
          },
        }),
    );
  }

  onModuleInit(): void {
    const ev = this.events;
    this.stops.push(
      ev.on('run.succeeded', (e) => this.count(e.handler, e.tenantId, 'succeeded')),
      ev.on('run.failed', (e) => this.count(e.handler, e.tenantId, 'failed')),
      ev.on('run.retrying', (e) => this.count(e.handler, e.tenantId, 'retrying')),
      ev.on('run.rejected', (e) => this.count(e.handler, e.tenantId, 'rejected')),
      ev.on('fires.skipped', (e) => this.count(e.handler, e.tenantId, 'skipped', e.count)),
      ev.on('lease.lost', () => this.leaseLost.inc()),
      ev.on('redis.error', (e) => this.redisErrors.inc({ operation: e.operation })),
      ev.on('target.circuit', (e) => this.circuits.update(e)),
      this.instrumentation.observe({
        started: (run) => this.started(run),
        ended: (run) => this.ended(run),
      }),
    );
    // Series that exist from the start, so that rate() and absent() work before the first event.
    this.leaseLost.inc(0);
  }

  onModuleDestroy(): void {
    for (const stop of this.stops.splice(0)) stop();
    for (const name of this.names) this.registry.removeSingleMetric(name);
  }

  /**
   * The series key of a run's handler and tenant label ('\0' cannot be in either), made once per
   * series: a run looks it up rather than joining (and hashing) a new string.
   */
  private key(handler: string, tenantId: string | undefined): string {
    if (!this.tenants) return handler;
    const label = this.tenants.label(tenantId);
    let byLabel = this.keys.get(handler);
    if (!byLabel) this.keys.set(handler, (byLabel = new Map()));
    let key = byLabel.get(label);
    if (key === undefined) byLabel.set(label, (key = `${handler}\0${label}`));
    return key;
  }

  private labels(key: string): Record<string, string> {
    const [handler, tenant] = key.split('\0');
    return this.tenants ? { handler, tenant } : { handler };
  }

  private count(handler: string, tenantId: string | undefined, outcome: string, n = 1): void {
    this.runs.add(this.key(handler, tenantId), outcome, n);
  }

  /** A handler starts: its lateness, from its due time, in Redis time. */
  private started(run: InstrumentedRun): void {
    const key = this.key(run.handler, run.context.tenantId);
    const lateMs = this.monitor.redisTime() - run.context.dueTime.getTime();
    this.lateness.add(key, Math.max(0, lateMs) / 1000);
  }

  /** A handler settled: how long it ran. */
  private ended(run: InstrumentedRun): void {
    const key = this.key(run.handler, run.context.tenantId);
    const seconds = (performance.now() - run.startedAt) / 1000;
    this.duration.add(key, seconds);
  }
}

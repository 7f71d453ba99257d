import type { Registry } from 'prom-client';

/** Options of SchedulerMetricsModule.forRoot; every field has a default. */
export interface SchedulerMetricsOptions {
  /** Where the metrics are registered. @default prom-client's global `register` */
  registry?: Registry;
  /** Prefix of every metric name. @default 'scheduler_' */
  prefix?: string;
  /**
   * Adds a `tenant` label to the run counters and histograms: the `topN` tenants with the most runs
   * on this pod, the rest as 'other', '' for static schedules. @default false (no tenant label)
   */
  tenantLabel?: boolean | { topN?: number };
  /** Buckets (seconds) of `run_lateness_seconds`. @default [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] */
  latenessBuckets?: number[];
  /** Buckets (seconds) of `run_duration_seconds`. @default prom-client's default buckets */
  durationBuckets?: number[];
  /** Longest wait for Redis when a scrape samples the due backlog. @default 1_000 */
  backlogTimeoutMs?: number;
}

export const SCHEDULER_METRICS_OPTIONS = Symbol('redis-scheduler:metrics-options');

/** Default topN of `tenantLabel: true`. */
export const DEFAULT_TOP_TENANTS = 10;

import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { ResolvedPolicy, SchedulePolicy } from './schedule-policy.interface';
import type { ScheduleStore } from './schedule-store.interface';
import type { ScheduleSource } from './schedule-source.interface';

export interface TenantGuardOptions {
  /** Most schedules one tenant may own; enforced atomically in Redis. 0 = no limit. @default 100 */
  maxSchedulesPerTenant?: number;
  /** Least time between two fires of a dynamic schedule, over the expression's whole cycle. 0 = no limit. @default 60_000 */
  minIntervalMs?: number;
  /** Largest JSON payload, in bytes (UTF-8). 0 = no limit. @default 65_536 */
  maxPayloadBytes?: number;
}

export interface RedisSchedulerModuleOptions {
  /** A redis:// URL, ioredis options, or an existing Redis/Cluster instance (not closed by the module). */
  redis: string | RedisOptions | Redis | Cluster;
  /** Every key starts with it. Letters, digits and `_ . -` only. @default 'rsched' */
  keyPrefix?: string;
  /** Jitter for schedules that set none, in ms. @default 0 */
  defaultJitterMs?: number;
  /** Run lease, renewed while a handler runs; a crashed pod's run is re-run after it. @default 30_000 */
  leaseMs?: number;
  /** Limits applied to dynamic (tenant) schedules. */
  tenantGuards?: TenantGuardOptions;
  /** false: this process manages schedules but never claims or runs them. @default true */
  worker?: boolean;
  /** Time zone of schedules that name none. @default 'UTC' */
  defaultTimeZone?: string;
  /** Most runs in flight in this process at once. @default 100 */
  concurrency?: number;
  /** Most runs claimed by one script call. @default 200 */
  batchSize?: number;
  /**
   * Claim first attempts up to this long before they are due and start them at their due time
   * after one cheap confirmation, so a burst of due runs starts on time instead of waiting for
   * claims. Capped at leaseMs / 4. 0 = claim only what is due. @default 1_000
   */
  lookAheadMs?: number;
  /**
   * Most runs this process holds claimed but not started (reserved ahead, or waiting for a free
   * slot). The working cap is lower while handlers are slow: what `concurrency` slots can start
   * within lookAheadMs at the handlers' average duration. @default 20_000
   */
  maxPendingRuns?: number;
  /** Longest sleep of an idle worker before it looks again (a new earlier schedule wakes it sooner). @default 2_000 */
  maxIdleMs?: number;
  /** How long shutdown waits for in-flight runs before aborting them and giving their leases back. @default 10_000 */
  shutdownTimeoutMs?: number;
  /**
   * How long boot (`app.init()`, `app.listen()`) waits for Redis to be ready before it fails with
   * RedisUnavailableError naming host and port; a progress line is logged every 2 s meanwhile.
   * Outages after boot are waited out whatever their length. (ioredis's own `connectTimeout` bounds
   * one connection attempt; this bounds the whole wait.) @default 10_000
   */
  connectTimeoutMs?: number;
  /** Most attempts of one fire time when runs keep losing their lease (crash loops). @default 3 */
  maxAttempts?: number;
  /**
   * Number of due-index partitions, each with its own hash tag, to spread load over a Redis
   * Cluster. Every process sharing a keyPrefix must use the same value. @default 1
   */
  partitions?: number;
  /**
   * Failure semantics of schedules that do not set their own: retry, timeoutMs, misfire,
   * catchUpWindowMs, maxCatchUp, overlap. @default no retry, no timeout, misfire 'runOnce' (any
   * age), maxCatchUp 10, overlap 'skip'
   */
  defaultPolicy?: SchedulePolicy;
  /** Most dead letters kept per partition (the oldest go first). @default 1_000 */
  deadLetterLimit?: number;
  /**
   * Keep the last N recorded runs of each schedule (start, end, duration, pod, attempt, fencing
   * token, outcome, error), written by the same script call that records the run; read with
   * SchedulerService.history() and describe(). Costs one Redis command inside that call per run
   * (no round trip) and about 170 bytes of Redis memory per kept run. 0 = off. @default 20
   */
  runHistory?: number;
  /**
   * How long a finished one-off task (`at`: succeeded, or failed for good) stays readable with
   * get() (state 'finished') before Redis deletes it; it stops counting toward the tenant quota
   * as soon as it is done. At least 1. @default 86_400_000 (24 h)
   */
  keepFinishedMs?: number;
  /**
   * A durable store (the source of truth) for dynamic schedules, e.g. `new PostgresScheduleStore(...)`
   * from `nestjs-redis-scheduler/postgres`: every change is committed there first, then applied to
   * Redis, and a reconciler makes Redis match it. See README, "DB-backed schedules". @default none
   */
  store?: ScheduleStore;
  /** With a `store`: how often the reconciler makes Redis match it. @default 10_000 */
  reconcileIntervalMs?: number;
  /** With a `store` keeping execution history: days a run is kept (pruned hourly). @default 30 */
  historyRetentionDays?: number;
  /** With a `store` keeping execution history: most runs waiting for it (while it is down). @default 10_000 */
  historyBufferSize?: number;
  /**
   * Your own table as the source of dynamic schedules: `load()` is read at boot and every
   * `reconcileIntervalMs` (one pod at a time) and Redis made to match it, as sync() does. @default none
   */
  source?: ScheduleSource;
}

/** Options with every default applied; what the module's internals read. */
export interface ResolvedSchedulerOptions {
  keyPrefix: string;
  defaultJitterMs: number;
  leaseMs: number;
  tenantGuards: Required<TenantGuardOptions>;
  worker: boolean;
  defaultTimeZone: string;
  concurrency: number;
  batchSize: number;
  /** Already capped at leaseMs / 4. */
  lookAheadMs: number;
  maxPendingRuns: number;
  maxIdleMs: number;
  shutdownTimeoutMs: number;
  connectTimeoutMs: number;
  maxAttempts: number;
  partitions: number;
  defaultPolicy: ResolvedPolicy;
  deadLetterLimit: number;
  runHistory: number;
  keepFinishedMs: number;
  store: ScheduleStore | undefined;
  reconcileIntervalMs: number;
  historyRetentionDays: number;
  historyBufferSize: number;
  source: ScheduleSource | undefined;
}

import {
  DEFAULT_BATCH_SIZE,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_CONCURRENCY,
  DEFAULT_KEY_PREFIX,
  DEFAULT_LEASE_MS,
  DEFAULT_LOOK_AHEAD_MS,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_IDLE_MS,
  DEFAULT_MAX_PENDING_RUNS,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_SCHEDULES_PER_TENANT,
  DEFAULT_MIN_INTERVAL_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_TIME_ZONE,
} from './redis-scheduler.constants';
import { InvalidOptionsError } from './errors/invalid-options.error';
import type {
  RedisSchedulerModuleOptions,
  ResolvedSchedulerOptions,
} from './interfaces/redis-scheduler-options.interface';
import type { ScheduleStore } from './interfaces/schedule-store.interface';
import type { ScheduleSource } from './interfaces/schedule-source.interface';
import { assertTimeZone } from './time/cron';
import { assertTimerMs } from './time/timer-delay';
import { DEFAULT_POLICY, resolvePolicy, validatePolicy } from './policy/schedule-policy';

const KEY_PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/** Applies defaults and rejects, at boot, any option the module cannot work with. */
export function resolveOptions(options: RedisSchedulerModuleOptions): ResolvedSchedulerOptions {
  if (!options || typeof options !== 'object') {
    throw new InvalidOptionsError(
      'RedisSchedulerModule options',
      'pass an object with at least `redis`',
    );
  }
  if (options.redis === undefined || options.redis === null || options.redis === '') {
    throw new InvalidOptionsError(
      'option `redis`',
      "it is missing; pass a URL ('redis://127.0.0.1:6379'), ioredis options or a Redis/Cluster instance",
    );
  }
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  if (!KEY_PREFIX.test(keyPrefix)) {
    throw new InvalidOptionsError(
      'option `keyPrefix`',
      `${JSON.stringify(keyPrefix)} must be 1 to 64 letters, digits, "_", "." or "-"`,
    );
  }
  const guards = options.tenantGuards ?? {};
  const resolved: ResolvedSchedulerOptions = {
    keyPrefix,
    defaultJitterMs: count('defaultJitterMs', options.defaultJitterMs, 0, 0),
    leaseMs: timerMs('leaseMs', options.leaseMs, DEFAULT_LEASE_MS, 500),
    tenantGuards: {
      maxSchedulesPerTenant: count(
        'tenantGuards.maxSchedulesPerTenant',
        guards.maxSchedulesPerTenant,
        DEFAULT_MAX_SCHEDULES_PER_TENANT,
        0,
      ),
      minIntervalMs: count(
        'tenantGuards.minIntervalMs',
        guards.minIntervalMs,
        DEFAULT_MIN_INTERVAL_MS,
        0,
      ),
      maxPayloadBytes: count(
        'tenantGuards.maxPayloadBytes',
        guards.maxPayloadBytes,
        DEFAULT_MAX_PAYLOAD_BYTES,
        0,
      ),
    },
    worker: options.worker ?? true,
    defaultTimeZone: options.defaultTimeZone ?? DEFAULT_TIME_ZONE,
    concurrency: count('concurrency', options.concurrency, DEFAULT_CONCURRENCY, 1),
    batchSize: count('batchSize', options.batchSize, DEFAULT_BATCH_SIZE, 1),
    lookAheadMs: count('lookAheadMs', options.lookAheadMs, DEFAULT_LOOK_AHEAD_MS, 0),
    maxPendingRuns: count('maxPendingRuns', options.maxPendingRuns, DEFAULT_MAX_PENDING_RUNS, 1),
    maxIdleMs: timerMs('maxIdleMs', options.maxIdleMs, DEFAULT_MAX_IDLE_MS, 10),
    shutdownTimeoutMs: timerMs(
      'shutdownTimeoutMs',
      options.shutdownTimeoutMs,
      DEFAULT_SHUTDOWN_TIMEOUT_MS,
      0,
    ),
    connectTimeoutMs: timerMs(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
      1,
    ),
    maxAttempts: count('maxAttempts', options.maxAttempts, DEFAULT_MAX_ATTEMPTS, 1),
    partitions: count('partitions', options.partitions, 1, 1),
    defaultPolicy: DEFAULT_POLICY,
    deadLetterLimit: count('deadLetterLimit', options.deadLetterLimit, 1_000, 1),
    runHistory: count('runHistory', options.runHistory, 20, 0),
    keepFinishedMs: count('keepFinishedMs', options.keepFinishedMs, 86_400_000, 1),
    store: validStore(options.store),
    reconcileIntervalMs: timerMs('reconcileIntervalMs', options.reconcileIntervalMs, 10_000, 100),
    historyRetentionDays: count('historyRetentionDays', options.historyRetentionDays, 30, 1),
    historyBufferSize: count('historyBufferSize', options.historyBufferSize, 10_000, 1),
    source: validSource(options.source),
  };
  validatePolicy(options.defaultPolicy, 'option `defaultPolicy`');
  resolved.defaultPolicy = resolvePolicy(options.defaultPolicy, DEFAULT_POLICY);
  // A reservation's lease must outlast its wait, and held leases (renewed below half) stay out of
  // the look-ahead window.
  resolved.lookAheadMs = Math.min(resolved.lookAheadMs, Math.floor(resolved.leaseMs / 4));
  if (typeof resolved.worker !== 'boolean') {
    throw new InvalidOptionsError('option `worker`', 'it must be true or false');
  }
  try {
    assertTimeZone(resolved.defaultTimeZone);
  } catch (error) {
    throw new InvalidOptionsError('option `defaultTimeZone`', (error as Error).message);
  }
  if (resolved.partitions > 1024) {
    throw new InvalidOptionsError('option `partitions`', 'use at most 1024 partitions');
  }
  return resolved;
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidOptionsError(
      `option \`${name}\``,
      `${JSON.stringify(value)} must be an integer ≥ ${min}`,
    );
  }
  return value;
}

/** A duration the pod waits out with a timer: at most MAX_TIMER_MS (about 24.8 days). */
function timerMs(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  assertTimerMs(`option \`${name}\``, value, min);
  return value;
}

const STORE_METHODS = [
  'init',
  'close',
  'write',
  'get',
  'changedSince',
  'page',
  'lockTenants',
  'writeTenant',
  'pausedTenants',
];

function validStore(store: unknown): ScheduleStore | undefined {
  if (store === undefined) return undefined;
  const missing =
    store && typeof store === 'object'
      ? STORE_METHODS.filter((m) => typeof (store as Record<string, unknown>)[m] !== 'function')
      : STORE_METHODS;
  if (missing.length > 0) {
    throw new InvalidOptionsError(
      'option `store`',
      `it must implement ScheduleStore (missing: ${missing.join(', ')}); e.g. ` +
        "new PostgresScheduleStore({ connectionString }) from 'nestjs-redis-scheduler/postgres'",
    );
  }
  return store as ScheduleStore;
}

function validSource(source: unknown): ScheduleSource | undefined {
  if (source === undefined) return undefined;
  if (!source || typeof (source as ScheduleSource).load !== 'function') {
    throw new InvalidOptionsError(
      'option `source`',
      'it must be an object with a load() method returning (async) iterable schedules',
    );
  }
  return source as ScheduleSource;
}

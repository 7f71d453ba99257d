/** Metadata keys, all namespaced so they never clash with another library's. */
export const DISTRIBUTED_CRON_METADATA = 'redis-scheduler:distributed-cron';
export const SCHEDULE_HANDLER_METADATA = 'redis-scheduler:schedule-handler';
export const PREPARE_PAYLOAD_METADATA = 'redis-scheduler:prepare-payload';

/** Injection token of the ioredis client (Redis or Cluster) the module uses. */
export const REDIS_SCHEDULER_CLIENT = Symbol('REDIS_SCHEDULER_CLIENT');
/** Injection token of the resolved options (every default filled in). */
export const REDIS_SCHEDULER_OPTIONS = Symbol('REDIS_SCHEDULER_OPTIONS');
/**
 * Injection token under which `nestjs-redis-scheduler/http` provides its HttpTargetBreakers too, so
 * that another integration (the admin API) reads the circuits without importing that one.
 */
export const HTTP_TARGET_CIRCUITS = Symbol.for('redis-scheduler:http-target-circuits');

export const DEFAULT_KEY_PREFIX = 'rsched';
export const DEFAULT_TIME_ZONE = 'UTC';
export const DEFAULT_LEASE_MS = 30_000;
export const DEFAULT_CONCURRENCY = 100;
export const DEFAULT_BATCH_SIZE = 200;
export const DEFAULT_LOOK_AHEAD_MS = 1_000;
export const DEFAULT_MAX_PENDING_RUNS = 20_000;
export const DEFAULT_MAX_IDLE_MS = 2_000;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_MAX_SCHEDULES_PER_TENANT = 100;
export const DEFAULT_MIN_INTERVAL_MS = 60_000;
export const DEFAULT_MAX_PAYLOAD_BYTES = 65_536;

/** Identifiers (tenant, schedule id, handler, static name): what may appear inside a key. */
export const IDENTIFIER_MAX_LENGTH = 128;

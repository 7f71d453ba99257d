import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { InvalidOptionsError } from '../errors/invalid-options.error';
import { MODULE_OPTIONS_TOKEN } from '../redis-scheduler.module-definition';
import { REDIS_SCHEDULER_OPTIONS } from '../redis-scheduler.constants';
import type {
  RedisSchedulerModuleOptions,
  ResolvedSchedulerOptions,
} from '../interfaces/redis-scheduler-options.interface';
import { timerDelay } from '../time/timer-delay';
import { KeySpace } from './key-space';
import { waitUntilReady } from './redis-readiness';
import { RedisClient, RedisScripts } from './redis-scripts';
import { describeRedisTarget, redact, secretsOf } from './redis-target';

/** How often boot says it is still waiting for Redis. */
const PROGRESS_MS = 2_000;

/** True for a Redis or Cluster instance, including one from another copy of ioredis. */
export function isRedisInstance(value: unknown): value is RedisClient {
  if (!value || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.defineCommand === 'function' &&
    typeof candidate.pipeline === 'function' &&
    typeof candidate.duplicate === 'function'
  );
}

/**
 * The module's Redis connection: built from a URL or options (then owned, and closed on
 * shutdown) or wrapping an instance the application passed (never closed by the module). At
 * module init it waits for Redis to be ready, for connectTimeoutMs at most: a boot fails with
 * RedisUnavailableError instead of hanging. Outages after boot are waited out (see watch()).
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  readonly client: RedisClient;
  readonly owned: boolean;
  readonly scripts: RedisScripts;
  readonly keys: KeySpace;
  private readonly logger = new Logger('RedisScheduler');
  private readonly extra = new Set<RedisClient>();
  private readonly secrets: string[];
  private failing = false;

  constructor(
    @Inject(MODULE_OPTIONS_TOKEN) options: RedisSchedulerModuleOptions,
    @Inject(REDIS_SCHEDULER_OPTIONS) private readonly resolved: ResolvedSchedulerOptions,
  ) {
    const { redis } = options;
    if (isRedisInstance(redis)) {
      const prefix = (redis as { options?: { keyPrefix?: string } }).options?.keyPrefix;
      if (prefix) {
        throw new InvalidOptionsError(
          'option `redis`',
          `the given client has keyPrefix "${prefix}", which would not reach keys built inside Lua scripts; use the module's keyPrefix option instead`,
        );
      }
      this.client = redis;
      this.owned = false;
    } else if (typeof redis === 'string') {
      // Connects on the first command (at bootstrap), so a failed compile leaves nothing open.
      this.client = new Redis(redis, { lazyConnect: true });
      this.owned = true;
    } else if (typeof redis === 'object') {
      if ((redis as RedisOptions).keyPrefix) {
        throw new InvalidOptionsError(
          'option `redis.keyPrefix`',
          "use the module's keyPrefix option instead",
        );
      }
      this.client = new Redis({ ...(redis as RedisOptions), lazyConnect: true });
      this.owned = true;
    } else {
      throw new InvalidOptionsError(
        'option `redis`',
        'pass a URL string, ioredis options, or a Redis/Cluster instance',
      );
    }
    this.secrets = secretsOf(this.client);
    if (this.owned) this.watch(this.client);
    this.scripts = new RedisScripts(this.client);
    this.keys = new KeySpace(resolved.keyPrefix, resolved.partitions);
  }

  /** Where the module connects, for messages: host:port (or nodes, or a path), no credentials. */
  get target(): string {
    return describeRedisTarget(this.client);
  }

  /**
   * Boot waits here (before the static sync and the engine start) until Redis is ready. On
   * failure a connection the module made is dropped, so nothing retries behind a failed boot.
   */
  async onModuleInit(): Promise<void> {
    try {
      await waitUntilReady(this.client, {
        timeoutMs: this.resolved.connectTimeoutMs,
        progressMs: PROGRESS_MS,
        target: this.target,
        secrets: this.secrets,
        logger: this.logger,
      });
    } catch (error) {
      if (this.owned) this.client.disconnect();
      throw error;
    }
  }

  /** A second connection (for pub/sub), owned by the module whatever the first one is. */
  duplicate(): RedisClient {
    const copy = (this.client.duplicate as () => RedisClient).call(this.client);
    this.watch(copy);
    this.extra.add(copy);
    return copy;
  }

  async close(client: RedisClient): Promise<void> {
    this.extra.delete(client);
    await quit(client);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.extra].map((c) => quit(c)));
    this.extra.clear();
    if (this.owned) await quit(this.client);
  }

  /** Logs connection trouble once per outage instead of letting 'error' events crash the app. */
  private watch(client: RedisClient): void {
    client.on('error', (error: Error) => {
      if (this.failing) return;
      this.failing = true;
      const message = redact(error.message, this.secrets);
      this.logger.warn(`Redis connection error: ${message}; retrying with backoff`);
    });
    client.on('ready', () => {
      if (!this.failing) return;
      this.failing = false;
      this.logger.log('Redis connection restored');
    });
  }
}

async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'wait') {
    client.disconnect();
    return;
  }
  // QUIT's reply comes before the socket closes: wait for 'end' so that close() means closed.
  const ended = new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.disconnect();
      resolve();
    }, timerDelay(2_000));
    client.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
  await ended;
}

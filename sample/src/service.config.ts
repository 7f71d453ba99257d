import { generateApiKey } from 'nestjs-redis-scheduler/admin';

/** An API key and whether it came from the environment or was made at start. */
export interface DemoKey {
  key: string;
  generated: boolean;
}

/** Everything the service reads from its environment, read once at start. */
export interface ServiceConfig {
  /** HTTP port (PORT, default 3000). */
  port: number;
  /** HOST to listen on, default 127.0.0.1 (a local demo: not reachable from other machines). */
  host: string;
  /** REDIS_URL, default the local Redis. */
  redisUrl: string;
  /** KEY_PREFIX, default 'rsched-sample'. */
  keyPrefix: string;
  /** DATABASE_URL: with it, PostgreSQL is the source of truth (the store); without, Redis alone. */
  databaseUrl: string | undefined;
  /** ADMIN_API_KEY, else made at start. */
  adminKey: DemoKey;
  /** Tenant id -> API key: 'demo' (DEMO_TENANT_KEY, else made at start) and TENANT_API_KEYS. */
  tenantKeys: Record<string, DemoKey>;
  /**
   * The echo target the demo tenant's schedules call (ECHO_URL, default the echo of the instance
   * on port 3000): every instance must allow the same targets, so it is one URL for all of them.
   */
  echoUrl: string;
  /** The allow-list of HTTP targets: the echo target and HTTP_ALLOW (comma-separated entries). */
  allow: string[];
  /** ADMIN_RATE_LIMIT: admin API requests per minute per key (0: no limit). */
  rateLimitPerMinute: number;
  /** BREAKER_FAILURES and BREAKER_COOL_DOWN_MS: the per-host circuit breaker. */
  breaker: { failureThreshold: number; coolDownMs: number };
}

export const DEMO_TENANT = 'demo';

/** Reads the service's configuration; a malformed value throws, naming the variable. */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const port = integer(env, 'PORT', 3000);
  const echoUrl = env.ECHO_URL || 'http://127.0.0.1:3000/echo/';
  if (!/^https?:\/\/[^/]+\/(.*\/)?$/.test(echoUrl)) {
    throw new Error(`ECHO_URL must be an http(s) URL ending in '/', got ${echoUrl}`);
  }
  const tenantKeys: Record<string, DemoKey> = { [DEMO_TENANT]: demoKey(env.DEMO_TENANT_KEY) };
  for (const pair of list(env.TENANT_API_KEYS)) {
    const [tenantId, key, ...rest] = pair.split('=');
    if (!tenantId || !key || rest.length > 0) {
      throw new Error(`TENANT_API_KEYS holds 'tenant=key' pairs separated by commas, got ${pair}`);
    }
    tenantKeys[tenantId] = { key, generated: false };
  }
  return {
    port,
    host: env.HOST || '127.0.0.1',
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    keyPrefix: env.KEY_PREFIX || 'rsched-sample',
    databaseUrl: env.DATABASE_URL || undefined,
    adminKey: demoKey(env.ADMIN_API_KEY),
    tenantKeys,
    echoUrl,
    allow: [echoUrl, ...list(env.HTTP_ALLOW)],
    rateLimitPerMinute: integer(env, 'ADMIN_RATE_LIMIT', 600),
    breaker: {
      failureThreshold: integer(env, 'BREAKER_FAILURES', 5),
      coolDownMs: integer(env, 'BREAKER_COOL_DOWN_MS', 30_000),
    },
  };
}

function demoKey(fromEnv: string | undefined): DemoKey {
  if (fromEnv) return { key: fromEnv, generated: false };
  return { key: generateApiKey(), generated: true };
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`${name} must be a non-negative integer, got ${raw}`);
  }
  return value;
}

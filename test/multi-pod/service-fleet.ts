import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freshPrefix } from '../support/create-app';
import { freePort } from '../support/free-port';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { waitFor } from '../support/wait-for';

/*
 * The scheduler service (`npm run sample`, sample/src/main.ts) run as separate Node processes on
 * one private Redis, the way README "Service" starts two instances.
 */

const root = join(__dirname, '../..');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const RAN = /pid (\d+) ran (\S+) \((.*?)\) fire (\S+) attempt (\d+) fencing (\d+)/;

/** A ' ran ' line of the service's log (sample/src/run-log.ts and report.jobs.ts). */
export interface RanLine {
  pid: number;
  /** 'tenant/id' for a dynamic schedule, the name for a static one. */
  schedule: string;
  detail: string;
  fireTime: string;
  attempt: number;
  fencingToken: number;
}

export interface ApiResponse {
  status: number;
  // The parsed JSON body (the admin API answers JSON only); null when there is none.
  body: any;
}

export interface ServiceProcess {
  readonly name: string;
  readonly port: number;
  /** 'http://127.0.0.1:<port>' */
  readonly url: string;
  readonly pid: number;
  /** Every line the process wrote (stdout and stderr), colours removed. */
  readonly output: string[];
  /** A request to the admin API: `path` is relative to /scheduler. */
  api(
    method: string,
    path: string,
    options?: { key?: string; body?: unknown },
  ): Promise<ApiResponse>;
  /** The ' ran ' lines logged so far. */
  ran(): RanLine[];
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

export interface ServiceFleet {
  redis: RedisServerHandle;
  services: ServiceProcess[];
  adminKey: string;
  /** Tenant id -> its API key ('demo' included). */
  tenantKeys: Record<string, string>;
  stop(): Promise<void>;
}

export interface ServiceFleetOptions {
  /** How many service processes. @default 2 */
  count?: number;
  /** Tenants besides 'demo' that get a key. */
  tenants?: string[];
  /** More environment for every process (HTTP_ALLOW, BREAKER_FAILURES, ...). */
  env?: Record<string, string>;
}

/** A private redis-server and `count` service processes on it, each on its own port. */
export async function startServiceFleet(options: ServiceFleetOptions = {}): Promise<ServiceFleet> {
  const redis = await startRedisServer();
  const newKey = (who: string) => `${who}-${randomBytes(24).toString('base64url')}`;
  const adminKey = newKey('admin');
  const tenantKeys: Record<string, string> = { demo: newKey('demo') };
  for (const tenant of options.tenants ?? []) tenantKeys[tenant] = newKey(tenant);
  const services: ServiceProcess[] = [];
  const fleet: ServiceFleet = {
    redis,
    services,
    adminKey,
    tenantKeys,
    stop: async () => {
      await Promise.all(services.map((s) => s.stop()));
      await redis.stop();
    },
  };
  try {
    const env: Record<string, string> = {
      REDIS_URL: redis.url,
      KEY_PREFIX: freshPrefix(),
      ADMIN_API_KEY: adminKey,
      DEMO_TENANT_KEY: tenantKeys.demo,
      TENANT_API_KEYS: Object.entries(tenantKeys)
        .filter(([tenant]) => tenant !== 'demo')
        .map(([tenant, key]) => `${tenant}=${key}`)
        .join(','),
      NO_COLOR: '1',
      // The tests poll the API (every 50 ms) with one key: no rate limit in the way.
      ADMIN_RATE_LIMIT: '0',
      ...options.env,
    };
    for (let i = 0; i < (options.count ?? 2); i++) {
      // The demo schedules call the first instance's echo target, as README "Service" says.
      const echo: Record<string, string> = services[0]
        ? { ECHO_URL: `${services[0].url}/echo/` }
        : {};
      services.push(await startService(`service-${i}`, { ...env, ...echo }, i === 0));
    }
    return fleet;
  } catch (error) {
    await fleet.stop();
    throw error;
  }
}

/** Starts one process on a free port; retries on "address in use" (another process took it). */
async function startService(
  name: string,
  env: Record<string, string>,
  echoOnSelf: boolean,
): Promise<ServiceProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const self: Record<string, string> = echoOnSelf
      ? { ECHO_URL: `http://127.0.0.1:${port}/echo/` }
      : {};
    const service = spawnService(name, port, { ...env, ...self, PORT: String(port) });
    try {
      await waitFor(
        () => {
          if (service.exited()) throw new Error(`${name} exited:\n${service.output.join('\n')}`);
          return service.output.some((line) => line.includes(`listening on port ${port}`));
        },
        { timeoutMs: 60_000, message: `${name} listening on port ${port}` },
      );
      return service;
    } catch (error) {
      await service.stop();
      const inUse = service.output.some((line) => line.includes('EADDRINUSE'));
      if (!inUse || attempt >= 3) throw error;
    }
  }
}

function spawnService(
  name: string,
  port: number,
  env: Record<string, string>,
): ServiceProcess & { exited(): boolean } {
  const child: ChildProcess = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'sample/src/main.ts'],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const collect = (chunk: Buffer): void => {
    const lines = chunk.toString().replace(ANSI, '').split('\n');
    output.push(...lines.filter((line) => line.length > 0));
    if (process.env.TEST_LOGS) process.stdout.write(lines.map((l) => `[${name}] ${l}\n`).join(''));
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  return {
    name,
    port,
    url,
    pid: child.pid ?? 0,
    output,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    api: async (method, path, { key, body } = {}) => {
      const response = await fetch(`${url}/scheduler${path}`, {
        method,
        headers: {
          ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : null };
    },
    ran: () =>
      output.flatMap((line) => {
        const m = RAN.exec(line);
        if (!m) return [];
        return [
          {
            pid: Number(m[1]),
            schedule: m[2],
            detail: m[3],
            fireTime: m[4],
            attempt: Number(m[5]),
            fencingToken: Number(m[6]),
          },
        ];
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exit;
    },
  };
}

/**
 * A private redis-server for the benchmark, and the INFO readers the runner needs.
 *
 * The server listens on a free loopback port, keeps nothing on disk (`--save "" --appendonly no`)
 * and is stopped with SIGTERM on the pid we spawned (never by name).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import Redis from 'ioredis';

export interface BenchRedisServer {
  port: number;
  url: string;
  pid: number;
  version: string;
  /** A new client; the caller quits it. */
  client(): Redis;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function spawnOnce(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`redis-server did not start within 5 s:\n${out}`));
    }, 5_000);
    const onData = (buf: Buffer): void => {
      out += buf.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`redis-server exited (${code}):\n${out}`), { out }));
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

export async function startRedisServer(): Promise<BenchRedisServer> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await spawnOnce(port);
    } catch (err) {
      lastErr = err;
      if (String((err as { out?: string }).out ?? '').includes('Address already in use')) continue;
      throw err;
    }
    const url = `redis://127.0.0.1:${port}`;
    const probe = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    const server = parseInfo(await probe.info('server'));
    await probe.quit();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      port,
      url,
      pid: child.pid ?? -1,
      version: server['redis_version'] ?? 'unknown',
      client: () => new Redis(url, { maxRetriesPerRequest: null }),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
      },
    };
  }
  throw lastErr;
}

/** `INFO <section>` text → field map (ignores `# Section` headers). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export interface CommandStats {
  /** Sum of `calls` over every command (commands called inside Lua scripts included). */
  totalCalls: number;
  /** Per command, e.g. `evalsha`, `zadd`, `config|resetstat`. */
  perCommand: Record<string, { calls: number; usec: number }>;
}

/** Commands the bench runner itself sends; left out of the totals charged to an implementation. */
export const RUNNER_COMMANDS = new Set([
  'info',
  'config|resetstat',
  'flushall',
  'ping',
  'client|setname',
]);

export async function readCommandStats(client: Redis): Promise<CommandStats> {
  const info = parseInfo(await client.info('commandstats'));
  const perCommand: CommandStats['perCommand'] = {};
  let totalCalls = 0;
  for (const [key, value] of Object.entries(info)) {
    if (!key.startsWith('cmdstat_')) continue;
    const name = key.slice('cmdstat_'.length);
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=')));
    const calls = Number(fields['calls'] ?? 0);
    const usec = Number(fields['usec'] ?? 0);
    perCommand[name] = { calls, usec };
    if (!RUNNER_COMMANDS.has(name)) totalCalls += calls;
  }
  return { totalCalls, perCommand };
}

/** used_cpu_sys + used_cpu_user of the redis-server process, in ms (cumulative since start). */
export async function readCpuMs(client: Redis): Promise<number> {
  const info = parseInfo(await client.info('cpu'));
  return (Number(info['used_cpu_sys']) + Number(info['used_cpu_user'])) * 1000;
}

export interface MemoryInfo {
  usedMemory: number;
  usedMemoryRss: number;
}

export async function readMemory(client: Redis): Promise<MemoryInfo> {
  const info = parseInfo(await client.info('memory'));
  return {
    usedMemory: Number(info['used_memory']),
    usedMemoryRss: Number(info['used_memory_rss']),
  };
}

/** CONFIG RESETSTAT: zeroes commandstats (not used_cpu_*, which are read as deltas). */
export async function resetStats(client: Redis): Promise<void> {
  await client.config('RESETSTAT');
}

/**
 * Checks on this server that commands called from inside a Lua script are counted in
 * INFO commandstats (on Redis 7 they are: an EVAL calling SET 3 times shows eval=1, set=3).
 * Leaves the stats reset and the probe keys deleted.
 */
export async function luaCallsAreCounted(client: Redis): Promise<boolean> {
  await resetStats(client);
  await client.eval(
    "for i = 1, 3 do redis.call('SET', KEYS[1], i) end redis.call('DEL', KEYS[1]) return 1",
    1,
    '__bench_probe__',
  );
  const stats = await readCommandStats(client);
  await resetStats(client);
  return stats.perCommand['set']?.calls === 3 && stats.perCommand['eval']?.calls === 1;
}

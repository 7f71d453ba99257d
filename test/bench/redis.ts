/**
 * The benchmark's private Redis — one redis-server, or with `--cluster` a Redis Cluster of N
 * masters — and the INFO readers the runner needs, summed over every node.
 *
 * Every server listens on a free loopback port and keeps nothing on disk (`--save ""
 * --appendonly no`); it is stopped with SIGTERM on the pid we spawned (never by name). The
 * cluster is test/support/redis-cluster.ts (`redis-server --cluster-enabled yes` × N +
 * `redis-cli --cluster create`, no replicas), reused as is.
 *
 * The runner only ever talks to the nodes one by one (`BenchRedis.nodes()`, plain clients): every
 * figure (commands, CPU, memory) is a sum over the nodes, and CONFIG RESETSTAT / FLUSHALL go to
 * every node. Implementations connect through `BenchRedis.endpoint` (./endpoint.ts).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import Redis from 'ioredis';
import { startRedisCluster } from '../support/redis-cluster';
import { RedisEndpoint } from './endpoint';

export interface BenchRedisNode {
  host: string;
  port: number;
  pid: number;
  /** Runner-owned plain client to this node (do not quit it). */
  client: Redis;
}

/** What the JSON records about the servers. */
export interface RedisTopology {
  mode: 'single' | 'cluster';
  /** Master count (single: 1); no replicas. */
  masters: number;
  nodes: Array<{ host: string; port: number; pid: number }>;
}

export interface BenchRedis {
  readonly version: string;
  readonly topology: RedisTopology;
  /** What setups and pods connect to. */
  readonly endpoint: RedisEndpoint;
  /** Every node (all masters), in start order. */
  nodes(): readonly BenchRedisNode[];
  /** One line for the log: mode, addresses, pids. */
  describe(): string;
  /** Quits the clients and stops every server we started. Safe to call twice. */
  stop(): Promise<void>;
}

export interface BenchRedisOptions {
  /** Start a Redis Cluster instead of one server. */
  cluster?: boolean;
  /** Cluster masters (≥ 3). @default 3 */
  masters?: number;
}

export function startBenchRedis(options: BenchRedisOptions = {}): Promise<BenchRedis> {
  return options.cluster ? startCluster(options.masters ?? 3) : startSingle();
}

// ---------------------------------------------------------------- single server

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

async function startSingle(): Promise<BenchRedis> {
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
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = `redis://127.0.0.1:${port}`;
    const client = new Redis(url, { maxRetriesPerRequest: null });
    const node: BenchRedisNode = { host: '127.0.0.1', port, pid: child.pid ?? -1, client };
    const version = await serverVersion(client);
    let stopping: Promise<void> | undefined;
    return {
      version,
      topology: { mode: 'single', masters: 1, nodes: [address(node)] },
      endpoint: { redisUrl: url },
      nodes: () => [node],
      describe: () => `redis-server ${version} on ${url} (pid ${node.pid})`,
      stop: () =>
        (stopping ??= (async () => {
          client.disconnect();
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
            await exited;
            clearTimeout(timer);
          }
        })()),
    };
  }
  throw lastErr;
}

// ---------------------------------------------------------------- cluster

async function startCluster(masters: number): Promise<BenchRedis> {
  // The harness gives every node `--save "" --appendonly no` (and a temp --dir it removes).
  const handle = await startRedisCluster({ masters });
  try {
    const nodes: BenchRedisNode[] = handle.nodes.map(({ host, port }, i) => ({
      host,
      port,
      pid: handle.pids[i],
      client: handle.node(i), // quit by handle.stop()
    }));
    const version = await serverVersion(nodes[0].client);
    const clusterNodes = nodes.map(({ host, port }) => ({ host, port }));
    return {
      version,
      topology: { mode: 'cluster', masters, nodes: nodes.map(address) },
      endpoint: { redisUrl: `redis://${nodes[0].host}:${nodes[0].port}`, clusterNodes },
      nodes: () => nodes,
      describe: () =>
        `redis-server ${version}, cluster of ${masters} masters on ` +
        nodes.map((n) => `${n.host}:${n.port} (pid ${n.pid})`).join(', '),
      stop: () => handle.stop(),
    };
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

const address = ({ host, port, pid }: BenchRedisNode): RedisTopology['nodes'][number] => ({
  host,
  port,
  pid,
});

async function serverVersion(client: Redis): Promise<string> {
  return parseInfo(await client.info('server'))['redis_version'] ?? 'unknown';
}

// ---------------------------------------------------------------- readers (sums over the nodes)

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

const eachNode = <T>(
  redis: BenchRedis,
  fn: (node: BenchRedisNode, index: number) => Promise<T>,
): Promise<T[]> => Promise.all(redis.nodes().map((n, i) => fn(n, i)));

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export interface CommandStats {
  /** Sum of `calls` over every command and node (commands called inside Lua scripts included). */
  totalCalls: number;
  /** Per command (summed over the nodes), e.g. `evalsha`, `zadd`, `config|resetstat`. */
  perCommand: Record<string, { calls: number; usec: number }>;
  /** totalCalls of each node, in BenchRedis.nodes() order. */
  perNodeCalls: number[];
}

/** Commands the bench runner itself sends; left out of the totals charged to an implementation. */
export const RUNNER_COMMANDS = new Set([
  'info',
  'config|resetstat',
  'flushall',
  'ping',
  'client|setname',
]);

async function nodeCommandStats(client: Redis): Promise<Omit<CommandStats, 'perNodeCalls'>> {
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

export async function readCommandStats(redis: BenchRedis): Promise<CommandStats> {
  const nodes = await eachNode(redis, (n) => nodeCommandStats(n.client));
  const perCommand: CommandStats['perCommand'] = {};
  for (const node of nodes) {
    for (const [name, s] of Object.entries(node.perCommand)) {
      const acc = (perCommand[name] ??= { calls: 0, usec: 0 });
      acc.calls += s.calls;
      acc.usec += s.usec;
    }
  }
  const perNodeCalls = nodes.map((n) => n.totalCalls);
  return { totalCalls: sum(perNodeCalls), perCommand, perNodeCalls };
}

/** A figure summed over the nodes, and each node's share (BenchRedis.nodes() order). */
export interface NodeSum {
  total: number;
  perNode: number[];
}

/** used_cpu_sys + used_cpu_user of every redis-server process, in ms (cumulative since start). */
export async function readCpuMs(redis: BenchRedis): Promise<NodeSum> {
  const perNode = await eachNode(redis, async (n) => {
    const info = parseInfo(await n.client.info('cpu'));
    return (Number(info['used_cpu_sys']) + Number(info['used_cpu_user'])) * 1000;
  });
  return { total: sum(perNode), perNode };
}

export interface MemoryInfo {
  /** used_memory summed over the nodes. */
  usedMemory: number;
  usedMemoryRss: number;
  /** used_memory of each node. */
  perNodeUsedMemory: number[];
}

export async function readMemory(redis: BenchRedis): Promise<MemoryInfo> {
  const nodes = await eachNode(redis, async (n) => parseInfo(await n.client.info('memory')));
  const perNodeUsedMemory = nodes.map((info) => Number(info['used_memory']));
  return {
    usedMemory: sum(perNodeUsedMemory),
    usedMemoryRss: sum(nodes.map((info) => Number(info['used_memory_rss']))),
    perNodeUsedMemory,
  };
}

/** CONFIG RESETSTAT on every node: zeroes commandstats (not used_cpu_*, which are read as deltas). */
export async function resetStats(redis: BenchRedis): Promise<void> {
  await eachNode(redis, (n) => n.client.config('RESETSTAT'));
}

/** FLUSHALL on every node (every node is a master). */
export async function flushAll(redis: BenchRedis): Promise<void> {
  await eachNode(redis, (n) => n.client.flushall());
}

/**
 * A key this node serves: any key on a single server; on a cluster node, one whose slot the node
 * owns (CLUSTER SLOTS + CLUSTER KEYSLOT), since a script may only touch local keys there.
 */
async function localKey(redis: BenchRedis, node: BenchRedisNode): Promise<string> {
  if (redis.topology.mode === 'single') return '__bench_probe__';
  const ranges = await node.client.cluster('SLOTS');
  const mine = ranges.filter(([, , master]) => Number(master?.[1]) === node.port);
  for (let k = 0; k < 10_000; k++) {
    const key = `__bench_probe__${k}`;
    const slot = Number(await node.client.cluster('KEYSLOT', key));
    if (mine.some(([from, to]) => slot >= from && slot <= to)) return key;
  }
  throw new Error(`no probe key found for ${node.host}:${node.port}`);
}

/**
 * Checks on every node that commands called from inside a Lua script are counted in
 * INFO commandstats (on Redis 7 they are: an EVAL calling SET 3 times shows eval=1, set=3).
 * Leaves the stats reset and the probe keys deleted.
 */
export async function luaCallsAreCounted(redis: BenchRedis): Promise<boolean> {
  const keys = await eachNode(redis, (n) => localKey(redis, n));
  await resetStats(redis);
  const counted = await eachNode(redis, async (n, i) => {
    await n.client.eval(
      "for i = 1, 3 do redis.call('SET', KEYS[1], i) end redis.call('DEL', KEYS[1]) return 1",
      1,
      keys[i],
    );
    const stats = await nodeCommandStats(n.client);
    return stats.perCommand['set']?.calls === 3 && stats.perCommand['eval']?.calls === 1;
  });
  await resetStats(redis);
  return counted.every(Boolean);
}

/**
 * The benchmark's private Redis: one redis-server (test/support/redis-server.ts), or with
 * `--cluster` a Redis Cluster of N masters (test/support/redis-cluster.ts), both reused as is:
 * free loopback ports, nothing kept on disk (`--save "" --appendonly no`, a temp --dir), stopped
 * with SIGTERM on the pid they spawned (never by name), and killed if the runner dies.
 *
 * The runner only ever talks to the nodes one by one (`BenchRedis.nodes()`, plain clients): every
 * figure (commands, CPU, memory) is a sum over the nodes (./redis-stats.ts). Implementations
 * connect through `BenchRedis.endpoint` (./endpoint.ts).
 */
import type { Redis } from 'ioredis';
import { startRedisCluster } from '../support/redis-cluster';
import { startRedisServer } from '../support/redis-server';
import type { RedisEndpoint } from './endpoint';

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

async function startSingle(): Promise<BenchRedis> {
  const server = await startRedisServer();
  try {
    const node: BenchRedisNode = {
      host: server.host,
      port: server.port,
      pid: server.pid,
      // Quit by server.stop(). The runner's reads wait out a reconnect instead of failing.
      client: server.client({ maxRetriesPerRequest: null }),
    };
    const version = await serverVersion(node.client);
    return {
      version,
      topology: { mode: 'single', masters: 1, nodes: [address(node)] },
      endpoint: { redisUrl: server.url },
      nodes: () => [node],
      describe: () => `redis-server ${version} on ${server.url} (pid ${node.pid})`,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

async function startCluster(masters: number): Promise<BenchRedis> {
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
  const match = /^redis_version:(.*)$/m.exec(await client.info('server'));
  return match?.[1].trim() ?? 'unknown';
}

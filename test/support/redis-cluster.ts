import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { freePort } from './free-port';
import {
  HOST,
  appendTail,
  closeClient,
  retryOnAddressInUse,
  spawnRedis,
  terminateRedis,
  type SpawnedRedis,
} from './redis-process';
import { waitFor } from './wait-for';

/**
 * A private Redis Cluster per test file: `masters` real redis-server processes with
 * `--cluster-enabled yes` on free loopback ports, joined by `redis-cli --cluster create` with no
 * replicas.
 *
 *   let redis: RedisClusterHandle;
 *   beforeAll(async () => (redis = await startRedisCluster({ masters: 3 })), 30_000);
 *   afterAll(() => redis.stop());
 *
 * The binaries are `redis-server` / `redis-cli` from PATH, or $REDIS_SERVER_BIN / $REDIS_CLI_BIN.
 * Each node gets a free client port and a free cluster-bus port (`--cluster-port`, Redis ≥ 7), so
 * no port+10000 has to be free.
 */

export interface RedisClusterOptions {
  /** Number of master nodes (no replicas). Redis refuses fewer than 3. @default 3 */
  masters?: number;
  /** More redis-server arguments for every node, appended last. Do not redirect the log. */
  args?: string[];
}

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export interface RedisClusterHandle {
  /** One entry per master, in start order: the startup nodes of a Cluster client. */
  readonly nodes: ClusterNodeAddress[];
  /** pids of the redis-server processes, same order as `nodes`. */
  readonly pids: number[];
  /** The nodes' --dir (nodes-<port>.conf live here), removed by stop(). */
  readonly dir: string;
  /** A new ioredis Cluster client (`options` override the defaults), quit by stop(). It has a
   * no-op 'error' listener. */
  cluster(options?: ClusterOptions): Cluster;
  /** A plain (non-cluster) client to node `index`, quit by stop(): for CLUSTER/INFO/KEYS on one node. */
  node(index: number): Redis;
  /** Quits the clients, SIGTERMs every node and awaits its exit, removes the dir. Safe to call twice. */
  stop(): Promise<void>;
  /** The end of the nodes' and redis-cli's output, for failure messages. */
  output(): string;
}

const CREATE_TIMEOUT_MS = 30_000;
const STATE_OK_TIMEOUT_MS = 20_000;

export async function startRedisCluster(
  options: RedisClusterOptions = {},
): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`startRedisCluster: masters must be an integer ≥ 3, got ${masters}`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'redis-cluster-test-'));
  const handle = new RedisCluster(dir);
  try {
    // Start the nodes one by one: two nodes asking freePort() at once may get the same port.
    for (let i = 0; i < masters; i++) await handle.startNode(options.args ?? []);
    await handle.create();
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

interface ClusterNodeProcess extends SpawnedRedis {
  readonly port: number;
}

class RedisCluster implements RedisClusterHandle {
  private readonly processes: ClusterNodeProcess[] = [];
  private readonly clients = new Set<Redis | Cluster>();
  private stopping: Promise<void> | undefined;
  private outputTail = '';

  constructor(readonly dir: string) {}

  get nodes(): ClusterNodeAddress[] {
    return this.processes.map((p) => ({ host: HOST, port: p.port }));
  }

  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  output(): string {
    return this.outputTail;
  }

  private log(text: string): void {
    this.outputTail = appendTail(this.outputTail, text);
  }

  async startNode(args: readonly string[]): Promise<void> {
    // Another process may take a port between freePort() and the bind: then try other ports.
    const node = await retryOnAddressInUse(async () => {
      const port = await freePort(HOST);
      let busPort = await freePort(HOST);
      while (busPort === port) busPort = await freePort(HOST);
      return spawnNode(port, busPort, this.dir, args, (t) => this.log(t));
    });
    this.processes.push(node);
  }

  /** `redis-cli --cluster create`, then waits until every node agrees the cluster is ok. */
  async create(): Promise<void> {
    const bin = process.env.REDIS_CLI_BIN || 'redis-cli';
    const argv = [
      '--cluster',
      'create',
      ...this.processes.map((p) => `${HOST}:${p.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(bin, argv, { timeout: CREATE_TIMEOUT_MS }, (error, stdout, stderr) => {
        this.log(`\n$ ${bin} ${argv.join(' ')}\n${stdout}${stderr}`);
        if (error) {
          reject(
            new Error(`${bin} ${argv.join(' ')} failed: ${error.message}\n${stdout}${stderr}`),
          );
        } else if (!/\[OK\] All 16384 slots covered/.test(stdout)) {
          reject(new Error(`${bin} did not cover every slot:\n${stdout}${stderr}`));
        } else {
          resolve();
        }
      });
    });
    const expected = this.processes.length;
    await Promise.all(
      this.processes.map(async (_, i) => {
        const client = this.node(i);
        await waitFor(
          async () => {
            const info = await client.cluster('INFO');
            return (
              /cluster_state:ok/.test(info) &&
              /cluster_slots_assigned:16384/.test(info) &&
              new RegExp(`cluster_known_nodes:${expected}\\b`).test(info) &&
              new RegExp(`cluster_size:${expected}\\b`).test(info)
            );
          },
          {
            timeoutMs: STATE_OK_TIMEOUT_MS,
            intervalMs: 100,
            message: `cluster_state:ok on node ${HOST}:${this.processes[i].port}`,
          },
        );
      }),
    );
  }

  cluster(options: ClusterOptions = {}): Cluster {
    if (this.stopping) throw new Error('redis-cluster: cluster() after stop()');
    const cluster = new Cluster(this.nodes, {
      ...options,
      redisOptions: { disconnectTimeout: 200, ...options.redisOptions },
    });
    this.track(cluster);
    return cluster;
  }

  node(index: number): Redis {
    if (this.stopping) throw new Error('redis-cluster: node() after stop()');
    const target = this.processes[index];
    if (!target) throw new Error(`redis-cluster: no node ${index}`);
    const client = new Redis({ host: HOST, port: target.port, disconnectTimeout: 200 });
    this.track(client);
    return client;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([...this.clients].map(closeClient));
      this.clients.clear();
      await Promise.all(this.processes.map((node) => terminateRedis(node)));
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private track(client: Redis | Cluster): void {
    client.on('error', () => undefined);
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
  }
}

/** Spawns one cluster-enabled redis-server; resolves once it accepts connections. */
async function spawnNode(
  port: number,
  busPort: number,
  dir: string,
  args: readonly string[],
  onOutput: (text: string) => void,
): Promise<ClusterNodeProcess> {
  const spawned = await spawnRedis(port, {
    args: [
      '--cluster-enabled',
      'yes',
      '--cluster-port',
      String(busPort),
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...args,
    ],
    onOutput,
  });
  return { port, ...spawned };
}

/**
 * Where an implementation connects: what the runner hands to setups (SetupContext) and pods
 * (StartMessage → PodContext). Light on purpose: pods import it, so it must not pull in the
 * runner's server/cluster harness (test/support/redis-cluster.ts is imported for a type only),
 * which is why closeCluster below is not test/support/redis-process.ts's closeClient: loading
 * that module (compiled by ts-node in every pod) would add to the pods' measured start time.
 *
 *   single server (default):  { redisUrl: 'redis://127.0.0.1:<port>' }
 *   --cluster:                { redisUrl: <first master>, clusterNodes: [every master] }
 *
 * A cluster-aware implementation opens an ioredis Cluster on `clusterNodes` when it is set
 * (openCluster below); `redisUrl` alone would reach one shard only.
 */
import { Cluster, type ClusterOptions } from 'ioredis';
import type { ClusterNodeAddress } from '../support/redis-cluster';

export interface RedisEndpoint {
  /** The private server; in cluster mode the first master (use clusterNodes instead). */
  redisUrl: string;
  /** Cluster mode only: every master (no replicas), the startup nodes of an ioredis Cluster. */
  clusterNodes?: ClusterNodeAddress[];
}

export const isCluster = (
  e: RedisEndpoint,
): e is RedisEndpoint & { clusterNodes: ClusterNodeAddress[] } =>
  Array.isArray(e.clusterNodes) && e.clusterNodes.length > 0;

/**
 * A new ioredis Cluster client on the endpoint's masters; the caller quits it (closeCluster).
 * A no-op 'error' listener keeps a node hiccup from crashing the process (ioredis retries and
 * rejects the commands concerned, which the implementation reports).
 */
export function openCluster(e: RedisEndpoint, options: ClusterOptions = {}): Cluster {
  if (!isCluster(e)) throw new Error('openCluster: the endpoint has no clusterNodes');
  const cluster = new Cluster(
    e.clusterNodes.map(({ host, port }) => ({ host, port })),
    options,
  );
  cluster.on('error', () => undefined);
  return cluster;
}

/** QUIT (bounded to 2 s), then disconnect. */
export async function closeCluster(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2_000)));
    await Promise.race([cluster.quit().catch(() => undefined), bound]);
    clearTimeout(timer);
  }
  if (cluster.status !== 'end') cluster.disconnect();
}

/**
 * What the runner reads from its private Redis (./bench-redis.ts), summed over every node: INFO
 * commandstats, cpu and memory; and CONFIG RESETSTAT / FLUSHALL sent to every node.
 */
import type { Redis } from 'ioredis';
import type { BenchRedis, BenchRedisNode } from './bench-redis';

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

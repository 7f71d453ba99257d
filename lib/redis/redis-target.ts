import type { RedisClient } from './redis-scripts';

type Options = Record<string, unknown>;

/**
 * Where a client connects, for messages: 'host:port', a socket path, sentinels or a cluster's
 * startup nodes. Built from the client's parsed options (ioredis parses a URL into them), so no
 * user name or password ever appears in it.
 */
export function describeRedisTarget(client: RedisClient): string {
  const raw = client as unknown as {
    isCluster?: boolean;
    startupNodes?: unknown;
    options?: Options;
  };
  if (raw.isCluster) {
    const nodes = Array.isArray(raw.startupNodes) ? raw.startupNodes.map(describeNode) : [];
    return `cluster nodes ${nodes.join(', ') || '(none)'}`;
  }
  const options = raw.options ?? {};
  if (Array.isArray(options.sentinels)) {
    const sentinels = options.sentinels.map(describeNode).join(', ');
    return `sentinels ${sentinels} (master "${String(options.name)}")`;
  }
  if (typeof options.path === 'string' && options.path !== '') return options.path;
  return hostPort(options.host, options.port);
}

/** The passwords a client's options hold, so that messages can be scrubbed of them. */
export function secretsOf(client: RedisClient): string[] {
  const raw = client as unknown as { options?: Options & { redisOptions?: Options } };
  const candidates = [
    raw.options?.password,
    raw.options?.sentinelPassword,
    raw.options?.redisOptions?.password,
  ];
  return candidates.filter((s): s is string => typeof s === 'string' && s !== '');
}

/** `message` with every occurrence of each secret replaced by '***'. */
export function redact(message: string, secrets: readonly string[]): string {
  return secrets.reduce((text, secret) => text.split(secret).join('***'), message);
}

function describeNode(node: unknown): string {
  if (typeof node === 'number') return hostPort(undefined, node);
  if (typeof node === 'string') {
    if (/^\d+$/.test(node)) return hostPort(undefined, node);
    try {
      const url = new URL(node.includes('://') ? node : `redis://${node}`);
      return hostPort(url.hostname, url.port);
    } catch {
      return '(unparseable node)';
    }
  }
  if (node && typeof node === 'object') {
    const { host, port } = node as Options;
    return hostPort(host, port);
  }
  return '(unknown node)';
}

function hostPort(host: unknown, port: unknown): string {
  const h = typeof host === 'string' && host !== '' ? host : 'localhost';
  const p = typeof port === 'number' || (typeof port === 'string' && port !== '') ? port : 6379;
  return `${h}:${String(p)}`;
}

import { Cluster, Redis } from 'ioredis';
import { describeRedisTarget, redact, secretsOf } from '../../../lib/redis/redis-target';

/* Where the module connects, as boot errors and logs name it: never with credentials. */

const made: Array<Redis | Cluster> = [];
function lazy<T extends Redis | Cluster>(client: T): T {
  made.push(client);
  return client;
}
afterAll(() => made.forEach((c) => c.disconnect()));

describe('describeRedisTarget', () => {
  it('names host:port of a URL, without user or password', () => {
    const client = lazy(new Redis('redis://user:s3cret@10.0.0.5:6380/2', { lazyConnect: true }));
    expect(describeRedisTarget(client)).toBe('10.0.0.5:6380');
    expect(secretsOf(client)).toEqual(['s3cret']);
  });

  it('names host:port of ioredis options, with the defaults filled in', () => {
    expect(describeRedisTarget(lazy(new Redis({ lazyConnect: true })))).toBe('localhost:6379');
    const client = lazy(
      new Redis({ host: 'cache', port: 7000, password: 'pw', lazyConnect: true }),
    );
    expect(describeRedisTarget(client)).toBe('cache:7000');
  });

  it('names a socket path, and sentinels with the master name', () => {
    expect(describeRedisTarget(lazy(new Redis('/tmp/redis.sock', { lazyConnect: true })))).toBe(
      '/tmp/redis.sock',
    );
    const sentinel = lazy(
      new Redis({
        sentinels: [{ host: 's1', port: 26379 }],
        name: 'main',
        password: 'pw',
        sentinelPassword: 'spw',
        lazyConnect: true,
      }),
    );
    expect(describeRedisTarget(sentinel)).toBe('sentinels s1:26379 (master "main")');
    expect(secretsOf(sentinel).sort()).toEqual(['pw', 'spw']);
  });

  it("names a cluster's startup nodes, whatever their form, never their credentials", () => {
    const cluster = lazy(
      new Cluster(
        [{ host: '10.0.0.1', port: 7000 }, 'redis://u:s3cret@10.0.0.2:7001', 7002, '10.0.0.3:7003'],
        { lazyConnect: true, redisOptions: { password: 'pw' } },
      ),
    );
    const target = describeRedisTarget(cluster);
    expect(target).toBe(
      'cluster nodes 10.0.0.1:7000, 10.0.0.2:7001, localhost:7002, 10.0.0.3:7003',
    );
    expect(target).not.toContain('s3cret');
    expect(secretsOf(cluster)).toEqual(['pw']);
  });
});

describe('redact', () => {
  it('replaces every occurrence of each secret', () => {
    expect(redact('WRONGPASS pw and pw; spw', ['spw', 'pw'])).toBe('WRONGPASS *** and ***; ***');
    expect(redact('nothing to hide', [])).toBe('nothing to hide');
  });
});

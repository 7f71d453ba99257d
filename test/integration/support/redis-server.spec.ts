import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { freePort } from '../../support/free-port';
import { startRedisServer, type RedisServerHandle } from '../../support/redis-server';
import { waitFor } from '../../support/wait-for';

type RedisServerModule = typeof import('../../support/redis-server');

/** Resolves 'connected' or the socket error code (e.g. 'ECONNREFUSED'). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startRedisServer', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(() => server.stop());

  it('starts a private server on a free port that answers PING', async () => {
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.pid).toBeGreaterThan(0);
    expect(await server.client().ping()).toBe('PONG');
    const info = await server.info('server');
    expect(info).toContain(`process_id:${server.pid}`);
    expect(info).toContain(`tcp_port:${server.port}`);
  });

  it('runs with no snapshots and no AOF, in its own dir', async () => {
    const client = server.client();
    expect(await client.config('GET', 'save')).toEqual(['save', '']);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', server.dir]);
  });

  it('stores and reads keys', async () => {
    const client = server.client();
    await client.set('greeting', 'hello');
    expect(await client.get('greeting')).toBe('hello');
  });

  it('pause() makes commands time out and resume() recovers', async () => {
    const client = server.client({ commandTimeout: 300, maxRetriesPerRequest: 0 });
    expect(await client.ping()).toBe('PONG');

    server.pause();
    await expect(client.ping()).rejects.toThrow(/timed out/i);

    server.resume();
    await waitFor(async () => (await client.ping()) === 'PONG', { message: 'PONG after resume' });
    await client.set('after-resume', '1');
    expect(await client.get('after-resume')).toBe('1');
  });

  it('restart() without appendonly comes back on the same port, empty', async () => {
    const client = server.client();
    await client.set('volatile', '1');
    const oldPid = server.pid;

    await server.restart();

    expect(server.pid).not.toBe(oldPid);
    expect(isAlive(oldPid)).toBe(false);
    expect(await client.ping()).toBe('PONG'); // the same client reconnected by itself
    expect(await client.get('volatile')).toBeNull();
  });

  it('restart() of a paused server works', async () => {
    server.pause();
    await server.restart();
    expect(await server.client().ping()).toBe('PONG');
  });
});

describe('startRedisServer({ appendonly: true })', () => {
  it('restart() keeps the data', async () => {
    const server = await startRedisServer({ appendonly: true });
    try {
      const client = server.client();
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      await client.set('durable', 'yes');
      await client.hset('durable:hash', { a: '1', b: '2' });
      const oldPid = server.pid;

      await server.restart();

      expect(server.pid).not.toBe(oldPid);
      expect(await client.get('durable')).toBe('yes');
      expect(await client.hgetall('durable:hash')).toEqual({ a: '1', b: '2' });
    } finally {
      await server.stop();
    }
  });
});

describe('RedisServerHandle.stop()', () => {
  it('quits the clients, ends the process, frees the port and removes the dir', async () => {
    const server = await startRedisServer({ args: ['--maxmemory', '10mb'] });
    const client = server.client();
    expect(await client.config('GET', 'maxmemory')).toEqual([
      'maxmemory',
      String(10 * 1024 * 1024),
    ]);
    const { port, pid, dir } = server;
    expect(await tryConnect(port)).toBe('connected');
    expect(existsSync(dir)).toBe(true);

    await server.stop();

    expect(client.status).toBe('end');
    expect(isAlive(pid)).toBe(false);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(existsSync(dir)).toBe(false);
    await server.stop(); // a second stop() is harmless
  });

  it('stops a paused server', async () => {
    const server = await startRedisServer();
    const client = server.client({ commandTimeout: 300 });
    await client.ping();
    const { pid, port } = server;
    server.pause();

    await server.stop();

    expect(isAlive(pid)).toBe(false);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
  });
});

describe('startRedisServer port clash', () => {
  afterEach(() => jest.dontMock('../../support/free-port'));

  it('retries on a new port when its port was taken before redis-server bound it', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    const takenPort = typeof address === 'object' && address ? address.port : 0;
    const ports: number[] = [];
    // The first port handed out is taken: redis-server exits with "Address already in use".
    jest.doMock('../../support/free-port', () => ({
      freePort: async () => {
        const port = ports.length === 0 ? takenPort : await freePort();
        ports.push(port);
        return port;
      },
    }));
    let start = startRedisServer;
    jest.isolateModules(() => {
      start = jest.requireActual<RedisServerModule>('../../support/redis-server').startRedisServer;
    });
    try {
      const server = await start();
      try {
        expect(ports).toEqual([takenPort, expect.any(Number)]);
        expect(server.port).toBe(ports[1]);
        expect(await server.client().ping()).toBe('PONG');
      } finally {
        await server.stop();
      }
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});

import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The real timers, even in a test file that turned on jest's fake timers.
import { setTimeout } from 'node:timers';
import { Redis, type RedisOptions } from 'ioredis';
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

/**
 * A private redis-server per test file (CONVENTIONS.md, "Test layout"):
 *
 *   let redis: RedisServerHandle;
 *   beforeAll(async () => (redis = await startRedisServer()));
 *   afterAll(() => redis.stop());
 *
 * The binary is `redis-server` from PATH, or $REDIS_SERVER_BIN.
 */

export interface RedisServerOptions {
  /** `--appendonly yes`, so that data survives restart(). @default false */
  appendonly?: boolean;
  /** More redis-server arguments, appended last so they win, e.g. `['--maxmemory', '10mb']`.
   * Do not redirect the log (`--logfile`): readiness and port clashes are read from stdout. */
  args?: string[];
}

export interface RedisServerHandle {
  readonly host: string;
  /** Stays the same across restart(). */
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** pid of the current redis-server process; changes on restart(). */
  readonly pid: number;
  /** The server's --dir, removed by stop(). */
  readonly dir: string;
  /** A new ioredis client to this server (`options` override the defaults), quit by stop(). It
   * has a no-op 'error' listener, since pauses and restarts make connection errors routine here. */
  client(options?: RedisOptions): Redis;
  /** SIGSTOP: the server keeps its connections but answers nothing until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the process (SIGTERM) and starts a new one on the same port and dir. Keeps the data
   * only with `appendonly: true`. Clients reconnect by themselves. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Quits the clients, stops the process, removes the dir. Safe to call twice. */
  stop(): Promise<void>;
  /** `INFO [section]` through a short-lived connection (the server must not be paused). */
  info(section?: string): Promise<string>;
  /** The end of the server's stdout/stderr, for failure messages. */
  output(): string;
}

const PROBE_INTERVAL_MS = 250;

export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const args = ['--appendonly', options.appendonly ? 'yes' : 'no', ...(options.args ?? [])];
  try {
    // Another process may take the port between freePort() and the bind: then try another port.
    return await retryOnAddressInUse(async () => {
      const server = new RedisServer(await freePort(HOST), dir, args);
      await server.start();
      return server;
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class RedisServer implements RedisServerHandle {
  readonly host = HOST;
  private spawned: SpawnedRedis | undefined;
  private lastPid = 0;
  private paused = false;
  private stopping: Promise<void> | undefined;
  private readonly clients = new Set<Redis>();
  private outputTail = '';

  constructor(
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
  ) {}

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  get pid(): number {
    return this.spawned?.pid ?? this.lastPid;
  }

  output(): string {
    return this.outputTail;
  }

  async start(): Promise<void> {
    const port = this.port;
    this.spawned = await spawnRedis(port, {
      args: ['--save', '', '--dir', this.dir, ...this.args],
      onOutput: (text) => (this.outputTail = appendTail(this.outputTail, text)),
      cleanupDir: this.dir,
      // Fallback when the log line is missing: a PONG from a server whose process_id is our child's.
      probe: {
        intervalMs: PROBE_INTERVAL_MS,
        ready: async (child) => {
          const pid = await probeServer(port);
          return pid !== undefined && pid === child.pid;
        },
      },
    });
    this.lastPid = this.spawned.pid;
  }

  client(options: RedisOptions = {}): Redis {
    if (this.stopping) throw new Error('redis-server: client() after stop()');
    const client = new Redis({
      host: HOST,
      port: this.port,
      // ioredis arms this (un-unref'd) timer on disconnect() and never clears it when the socket
      // was already closed (a client reconnecting after restart()): keep it short.
      disconnectTimeout: 200,
      ...options,
    });
    client.on('error', () => undefined);
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  pause(): void {
    this.running().child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.running().child.kill('SIGCONT');
    this.paused = false;
  }

  async restart(options: { downMs?: number } = {}): Promise<void> {
    if (this.stopping) throw new Error('redis-server: restart() after stop()');
    await this.terminate();
    // An outage: the port refuses connections for this long.
    if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
    await retryOnAddressInUse(() => this.start(), 200);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      // Resume first so that QUIT is answered instead of waiting for its timeout.
      this.resume();
      await Promise.all([...this.clients].map(closeClient));
      this.clients.clear();
      await this.terminate();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  async info(section?: string): Promise<string> {
    if (this.paused) throw new Error('redis-server: info() while paused');
    const client = new Redis({
      host: HOST,
      port: this.port,
      lazyConnect: true,
      connectTimeout: 2_000,
      commandTimeout: 5_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return section === undefined ? await client.info() : await client.info(section);
    } finally {
      client.disconnect();
    }
  }

  private running(): SpawnedRedis {
    const spawned = this.spawned;
    if (!spawned || spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(`redis-server on port ${this.port} is not running`);
    }
    return spawned;
  }

  /** SIGCONT if paused, SIGTERM, await exit; SIGKILL after a timeout. */
  private async terminate(): Promise<void> {
    const spawned = this.spawned;
    this.spawned = undefined;
    if (!spawned) return;
    const paused = this.paused;
    this.paused = false;
    await terminateRedis(spawned, paused);
  }
}

/** Sends `INFO server` + `PING` on a raw socket; resolves the server's process_id once both
 * answered (not while it is still loading), else undefined. */
function probeServer(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let data = '';
    const socket = connect({ host: HOST, port });
    const done = (pid?: number): void => {
      socket.destroy();
      resolve(pid);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(PROBE_INTERVAL_MS, () => done());
    socket.once('error', () => done());
    socket.once('connect', () => socket.write('INFO server\r\nPING\r\n'));
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.startsWith('-')) return done();
      const pid = /process_id:(\d+)/.exec(data);
      if (pid && data.endsWith('\r\n+PONG\r\n')) done(Number(pid[1]));
    });
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The real timers, even in a test file that turned on jest's fake timers.
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { runInThisContext } from 'node:vm';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './free-port';

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

const HOST = '127.0.0.1';
const READY_PATTERN = /ready to accept connections/i;
const ADDRESS_IN_USE_PATTERN = /address already in use/i;
const READY_TIMEOUT_MS = 10_000;
const PROBE_INTERVAL_MS = 250;
const STOP_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 1_000;
const MAX_START_ATTEMPTS = 3;
const OUTPUT_TAIL_CHARS = 16_000;

export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'redis-test-'));
  const args = ['--appendonly', options.appendonly ? 'yes' : 'no', ...(options.args ?? [])];
  try {
    for (let attempt = 1; ; attempt++) {
      const server = new RedisServer(await freePort(HOST), dir, args);
      try {
        await server.start();
        return server;
      } catch (error) {
        // Another process took the port between freePort() and the bind: try another port.
        if (!(error instanceof AddressInUseError) || attempt >= MAX_START_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

class AddressInUseError extends Error {
  override readonly name = 'AddressInUseError';
}

interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
}

class RedisServer implements RedisServerHandle {
  readonly host = HOST;
  private spawned: Spawned | undefined;
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
    this.spawned = await spawnRedis(this.port, this.dir, this.args, (text) => {
      this.outputTail = (this.outputTail + text).slice(-OUTPUT_TAIL_CHARS);
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
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.start();
      } catch (error) {
        if (!(error instanceof AddressInUseError) || attempt >= MAX_START_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
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

  private running(): Spawned {
    const spawned = this.spawned;
    if (!spawned || spawned.child.exitCode !== null || spawned.child.signalCode !== null) {
      throw new Error(`redis-server on port ${this.port} is not running`);
    }
    return spawned;
  }

  /** SIGCONT if paused, SIGTERM, await exit; SIGKILL after STOP_TIMEOUT_MS. */
  private async terminate(): Promise<void> {
    const spawned = this.spawned;
    this.spawned = undefined;
    if (!spawned) return;
    const { child, exited } = spawned;
    if (child.exitCode === null && child.signalCode === null) {
      if (this.paused) child.kill('SIGCONT');
      child.kill('SIGTERM');
    }
    this.paused = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    try {
      await exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

async function closeClient(client: Redis): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
    await Promise.race([client.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  if (client.status !== 'end') client.disconnect();
}

/** Spawns redis-server and resolves once it accepts commands; rejects if it exits or is slow. */
function spawnRedis(
  port: number,
  dir: string,
  args: readonly string[],
  onOutput: (text: string) => void,
): Promise<Spawned> {
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server';
  const argv = ['--port', String(port), '--bind', HOST, '--save', '', '--dir', dir, ...args];
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve(); // it never started, so no 'exit' will come
    });
  });
  trackChild(child, exited, dir);

  return new Promise<Spawned>((resolve, reject) => {
    let startupOutput = '';
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(probe);
      if (error) reject(error);
      else resolve({ child, exited, pid: child.pid ?? 0 });
    };
    const context = (): string =>
      `${bin} ${argv.join(' ')}\n--- output ---\n${startupOutput.slice(-4_000)}`;

    // Keep reading after start-up too: a full pipe would block the server's logging.
    const onData = (text: string): void => {
      onOutput(text);
      if (settled) return;
      startupOutput += text;
      if (READY_PATTERN.test(startupOutput)) settle();
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);

    child.once('error', (error) =>
      settle(
        new Error(
          `could not run ${bin} (${error.message}); install redis-server or set REDIS_SERVER_BIN`,
        ),
      ),
    );
    // 'close' comes after the output is fully read, so the reason is in startupOutput.
    child.once('close', (code, signal) => {
      const message = `redis-server exited (code ${code}, signal ${signal}) before it was ready: ${context()}`;
      settle(
        ADDRESS_IN_USE_PATTERN.test(startupOutput)
          ? new AddressInUseError(message)
          : new Error(message),
      );
    });
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      settle(new Error(`redis-server not ready within ${READY_TIMEOUT_MS} ms: ${context()}`));
    }, READY_TIMEOUT_MS);
    // Fallback when the log line is missing: a PONG from a server whose process_id is our child's.
    const probe = setInterval(() => {
      void probeServer(port).then((pid) => {
        if (pid !== undefined && pid === child.pid) settle();
      });
    }, PROBE_INTERVAL_MS);
  });
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

/*
 * If the jest worker dies (uncaught error, process.exit, SIGTERM from jest), kill every server
 * this module started and remove its dir, so none outlives the run. Jest hands each test file a copy of `process`
 * whose listeners Node never calls; vm.runInThisContext runs in the main context, where
 * `process` is the worker's real one. The hooks exist only while a server is alive, so test
 * files sharing a worker do not pile up listeners.
 */
const hostProcess = runInThisContext('process') as NodeJS.Process;
const liveChildren = new Map<ChildProcess, string>(); // -> its --dir
const HOST_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function trackChild(child: ChildProcess, exited: Promise<void>, dir: string): void {
  if (liveChildren.size === 0) {
    hostProcess.on('exit', killLiveChildren);
    for (const signal of HOST_SIGNALS) hostProcess.on(signal, onHostSignal);
  }
  liveChildren.set(child, dir);
  void exited.then(() => {
    if (liveChildren.delete(child) && liveChildren.size === 0) unhookHost();
  });
}

function killLiveChildren(): void {
  for (const [child, dir] of liveChildren) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function onHostSignal(signal: NodeJS.Signals): void {
  killLiveChildren();
  unhookHost();
  // Listening replaced the signal's default action (exit); restore it unless others listen.
  if (hostProcess.listenerCount(signal) === 0) hostProcess.kill(hostProcess.pid, signal);
}

function unhookHost(): void {
  hostProcess.off('exit', killLiveChildren);
  for (const signal of HOST_SIGNALS) hostProcess.off(signal, onHostSignal);
}

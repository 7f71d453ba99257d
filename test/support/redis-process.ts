import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
// The real timers, even in a test file that turned on jest's fake timers.
import { clearInterval, clearTimeout, setInterval, setTimeout } from 'node:timers';
import { runInThisContext } from 'node:vm';
import type { Cluster, Redis } from 'ioredis';

/**
 * What redis-server.ts and redis-cluster.ts share: spawning a redis-server and waiting until it
 * is ready, stopping it, quitting clients, and killing every server if the jest worker dies.
 */

export const HOST = '127.0.0.1';
const READY_PATTERN = /ready to accept connections/i;
const ADDRESS_IN_USE_PATTERN = /address already in use/i;
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 1_000;
export const MAX_START_ATTEMPTS = 3;
const OUTPUT_TAIL_CHARS = 16_000;

/** redis-server exited before it was ready because its port was taken. */
export class AddressInUseError extends Error {
  override readonly name = 'AddressInUseError';
}

export interface SpawnedRedis {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
}

export interface SpawnRedisOptions {
  /** redis-server arguments after `--port <port> --bind 127.0.0.1`. */
  args: readonly string[];
  /** Called with everything the server writes to stdout/stderr, during and after start-up. */
  onOutput: (text: string) => void;
  /** Removed (with the server killed) if the jest worker dies. */
  cleanupDir?: string;
  /** Fallback when the ready log line is missing: polled every `intervalMs`, ready once true. */
  probe?: { intervalMs: number; ready: (child: ChildProcess) => Promise<boolean> };
}

/** `tail + text`, keeping only the last OUTPUT_TAIL_CHARS characters. */
export function appendTail(tail: string, text: string): string {
  return (tail + text).slice(-OUTPUT_TAIL_CHARS);
}

/** Runs `start(attempt)` again while it fails with AddressInUseError, up to MAX_START_ATTEMPTS
 * times, waiting `backoffMs * attempt` between attempts. */
export async function retryOnAddressInUse<T>(
  start: (attempt: number) => Promise<T>,
  backoffMs = 0,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(attempt);
    } catch (error) {
      if (!(error instanceof AddressInUseError) || attempt >= MAX_START_ATTEMPTS) throw error;
      if (backoffMs) await new Promise((resolve) => setTimeout(resolve, backoffMs * attempt));
    }
  }
}

export async function closeClient(client: Redis | Cluster): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, QUIT_TIMEOUT_MS)));
    await Promise.race([client.quit().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
  if (client.status !== 'end') client.disconnect();
}

/** SIGCONT if `paused`, SIGTERM, await the exit; SIGKILL after STOP_TIMEOUT_MS. Only this pid,
 * never pkill. */
export async function terminateRedis(
  { child, exited }: SpawnedRedis,
  paused = false,
): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    if (paused) child.kill('SIGCONT');
    child.kill('SIGTERM');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Spawns redis-server and resolves once it accepts connections; rejects if it exits or is slow.
 * The binary is `redis-server` from PATH, or $REDIS_SERVER_BIN. */
export function spawnRedis(port: number, options: SpawnRedisOptions): Promise<SpawnedRedis> {
  const { onOutput, probe } = options;
  const bin = process.env.REDIS_SERVER_BIN || 'redis-server';
  const argv = ['--port', String(port), '--bind', HOST, ...options.args];
  const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve(); // it never started, so no 'exit' will come
    });
  });
  trackChild(child, exited, options.cleanupDir);

  return new Promise<SpawnedRedis>((resolve, reject) => {
    let startupOutput = '';
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearInterval(probeTimer);
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
    const probeTimer =
      probe &&
      setInterval(() => {
        void probe.ready(child).then((ready) => {
          if (ready) settle();
        });
      }, probe.intervalMs);
  });
}

/*
 * If the jest worker dies (uncaught error, process.exit, SIGTERM from jest), kill every server
 * this module started and remove its cleanupDir, so none outlives the run. Jest hands each test
 * file a copy of `process` whose listeners Node never calls; vm.runInThisContext runs in the main
 * context, where `process` is the worker's real one. The hooks exist only while a server is
 * alive, so test files sharing a worker do not pile up listeners.
 */
const hostProcess = runInThisContext('process') as NodeJS.Process;
const liveChildren = new Map<ChildProcess, string | undefined>(); // -> its cleanupDir
const HOST_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function trackChild(child: ChildProcess, exited: Promise<void>, dir: string | undefined): void {
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
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
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

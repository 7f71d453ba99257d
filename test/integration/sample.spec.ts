import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { freshPrefix } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';

const root = join(__dirname, '../..');

let server: RedisServerHandle;
const children: ChildProcess[] = [];
beforeAll(async () => (server = await startRedisServer()));
afterAll(async () => {
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  await server.stop();
});

describe('the build', () => {
  it('ships the Lua scripts next to the compiled library', () => {
    const scripts = readdirSync(join(root, 'dist/redis/scripts')).filter((f) => f.endsWith('.lua'));
    expect(scripts.length).toBeGreaterThanOrEqual(9);
    expect(existsSync(join(root, 'dist/redis/scripts/includes/nowMs.lua'))).toBe(true);
  });

  it('exposes the public API through package.json main', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const api = require(root) as Record<string, unknown>;
    for (const name of [
      'RedisSchedulerModule',
      'DistributedCron',
      'ScheduleHandler',
      'SchedulerService',
      'RedisLockService',
      'SchedulerError',
    ]) {
      expect(api[name]).toBeDefined();
    }
  });
});

// The service itself (sample/) started twice: test/multi-pod/service-demo.spec.ts.
describe('a Nest app with the module', () => {
  it('leaves nothing running after app.close(): the process exits by itself at once', async () => {
    let log = '';
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'test/fixtures/close-and-exit.ts'],
      {
        cwd: root,
        env: { ...process.env, REDIS_URL: server.url, KEY_PREFIX: freshPrefix() },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(child);
    child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (c) => resolve(c)),
    );
    const exitedAt = Date.now();
    expect(code).toBe(0);
    const closedAt = Number(/closed (\d+)/.exec(log)?.[1]);
    expect(exitedAt - closedAt).toBeLessThan(1_500);
  });
});

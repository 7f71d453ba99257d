import { Injectable } from '@nestjs/common';
import { ChildProcess, fork } from 'node:child_process';
import { ScheduleHandler } from '../../lib';
import { recordingHandlers } from '../fixtures/recorder';
import { createApp, freshPrefix, TestApp } from '../support/create-app';
import { RedisServerHandle, startRedisServer } from '../support/redis-server';
import { join } from 'node:path';
import { waitFor } from '../support/wait-for';
import type { PodEvent } from './pod.fixture';

export type RunEvent = Extract<PodEvent, { type: 'start' | 'end' }>;

export interface Pod {
  name: string;
  child: ChildProcess;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (graceful shutdown) and wait for the exit. */
  stop(): Promise<void>;
}

/** Everything every pod of the test reported, in arrival order. */
export class PodFleet {
  readonly events: PodEvent[] = [];
  readonly pods: Pod[] = [];

  constructor(
    private readonly redisUrl: string,
    private readonly keyPrefix: string,
    /** The pod's entry file. */
    private readonly fixture = join(__dirname, 'pod.fixture.ts'),
  ) {}

  starts(filter: (e: RunEvent) => boolean = () => true): RunEvent[] {
    return this.events.filter((e): e is RunEvent => e.type === 'start' && filter(e));
  }

  ends(filter: (e: RunEvent) => boolean = () => true): RunEvent[] {
    return this.events.filter((e): e is RunEvent => e.type === 'end' && filter(e));
  }

  warnings(pod: string): string[] {
    return this.events.flatMap((e) => (e.type === 'warn' && e.pod === pod ? [e.message] : []));
  }

  async start(name: string, env: Record<string, string> = {}): Promise<Pod> {
    const child = fork(this.fixture, [], {
      execArgv: ['-r', join(__dirname, 'skew-clock.js'), '-r', 'ts-node/register/transpile-only'],
      env: {
        ...process.env,
        REDIS_URL: this.redisUrl,
        KEY_PREFIX: this.keyPrefix,
        POD_NAME: name,
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (event: PodEvent) => this.events.push(event));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pod: Pod = {
      name,
      child,
      signal: (signal) => child.kill(signal),
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGCONT');
          child.kill('SIGTERM');
        }
        await exited;
      },
    };
    this.pods.push(pod);
    await waitFor(() => this.events.some((e) => e.type === 'ready' && e.pod === name), {
      timeoutMs: 30_000,
      message: `pod ${name} did not start`,
    });
    return pod;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.pods.map((p) => p.stop()));
  }
}

/** Percentile of a list of numbers (nearest rank). */
/**
 * True once every dynamic schedule s0…s<count - 1> has started every whole second of
 * [windowStart, windowEnd); else throws, naming what has not started (waitFor shows the last such
 * error on timeout).
 */
export function everyFireTimeStarted(
  fleet: PodFleet,
  count: number,
  windowStart: number,
  windowEnd: number,
): true {
  const started = new Set(
    fleet.starts((e) => e.tenantId !== undefined).map((e) => `${e.scheduleId}@${e.fireTime}`),
  );
  const missing: string[] = [];
  for (let i = 0; i < count; i++)
    for (let t = windowStart; t < windowEnd; t += 1_000)
      if (!started.has(`s${i}@${t}`)) missing.push(`s${i}@${t}`);
  if (missing.length > 0)
    throw new Error(`${missing.length} fire times not started yet, e.g. ${missing.slice(0, 5)}`);
  return true;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A private Redis, a fleet of pod processes on it, and an API app (worker: false) to manage schedules. */
export interface FleetSetup {
  server: RedisServerHandle;
  fleet: PodFleet;
  api: TestApp;
  stop(): Promise<void>;
}

export async function startFleet(fixture?: string): Promise<FleetSetup> {
  const server = await startRedisServer({ appendonly: true });
  const prefix = freshPrefix();
  const fleet = new PodFleet(server.url, prefix, fixture);
  const api = await createApp(
    {
      redis: server.url,
      keyPrefix: prefix,
      worker: false,
      runHistory: 300,
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    },
    [recordingHandlers('api'), DeclaredHandlers],
  );
  return {
    server,
    fleet,
    api,
    stop: async () => {
      await fleet.stopAll();
      await api.close();
      await server.stop();
    },
  };
}

/** Handlers the pods run, declared in the API app so its upserts validate (it never runs them). */
@Injectable()
class DeclaredHandlers {
  @ScheduleHandler('chaos')
  chaos(): void {}
}

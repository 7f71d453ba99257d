// A pod: its own Node process running a Nest app with the module and recording handlers.
// Reports to the parent over IPC: every handler start and end, and the module's warnings.
import 'reflect-metadata';
import { ConsoleLogger, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { performance } from 'node:perf_hooks';
import { DistributedCron, RedisSchedulerModule, ScheduleContext, ScheduleHandler } from '../../lib';

export interface PodPayload {
  /** Keep the run going for this many 50 ms steps (a frozen process only delays one step). */
  steps?: number;
}

export type PodEvent =
  | { type: 'ready'; pod: string; pid: number }
  | {
      type: 'start' | 'end';
      pod: string;
      pid: number;
      scheduleId: string;
      tenantId?: string;
      fireTime: number;
      dueTime: number;
      attempt: number;
      fencingToken: number;
      /** ctx.trigger and ctx.idempotencyKey. */
      trigger: boolean;
      idempotencyKey: string;
      realMs: number;
      aborted: boolean;
    }
  | { type: 'warn'; pod: string; message: string };

const pod = process.env.POD_NAME ?? `pod-${process.pid}`;
/** Real wall-clock time, unaffected by the skew preload. */
const realNow = (): number => performance.timeOrigin + performance.now();
const send = (event: PodEvent): void => {
  if (process.send) process.send(event);
};

async function report(type: 'start' | 'end', ctx: ScheduleContext): Promise<void> {
  send({
    type,
    pod,
    pid: process.pid,
    scheduleId: ctx.scheduleId,
    tenantId: ctx.tenantId,
    fireTime: ctx.fireTime.getTime(),
    dueTime: ctx.dueTime.getTime(),
    attempt: ctx.attempt,
    fencingToken: ctx.fencingToken,
    trigger: ctx.trigger,
    idempotencyKey: ctx.idempotencyKey,
    realMs: realNow(),
    aborted: ctx.signal.aborted,
  });
}

@Injectable()
class PodHandlers {
  @ScheduleHandler('record')
  async record(payload: PodPayload | undefined, ctx: ScheduleContext): Promise<void> {
    await report('start', ctx);
    for (let i = 0; i < (payload?.steps ?? 0) && !ctx.signal.aborted; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await report('end', ctx);
  }

  @DistributedCron('* * * * * *', { name: 'pod-static' })
  async tick(ctx: ScheduleContext): Promise<void> {
    await report('start', ctx);
    await report('end', ctx);
  }
}

class ForwardingLogger extends ConsoleLogger {
  override warn(message: unknown, ...rest: unknown[]): void {
    send({ type: 'warn', pod, message: String(message) });
    if (process.env.TEST_LOGS) super.warn(message, ...rest);
  }
  override log(message: unknown, ...rest: unknown[]): void {
    if (process.env.TEST_LOGS) super.log(message, ...rest);
  }
}

@Module({
  imports: [
    RedisSchedulerModule.forRoot({
      redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: process.env.KEY_PREFIX,
      leaseMs: Number(process.env.LEASE_MS ?? 30_000),
      ...(process.env.CONCURRENCY ? { concurrency: Number(process.env.CONCURRENCY) } : {}),
      shutdownTimeoutMs: 1_000,
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    }),
  ],
  providers: [PodHandlers],
})
class PodModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(PodModule, {
    logger: new ForwardingLogger(),
  });
  app.enableShutdownHooks();
  send({ type: 'ready', pod, pid: process.pid });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

void main();

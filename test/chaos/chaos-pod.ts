// A chaos pod: a Nest app whose handler works for a while and sometimes fails its first attempt.
// Reports every handler start and every run whose completion Redis rejected, over IPC.
import 'reflect-metadata';
import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RedisSchedulerModule, ScheduleContext, ScheduleHandler, SchedulerEvents } from '../../lib';
import { fnv1a } from '../../lib/time/jitter';

export type ChaosEvent =
  | { type: 'ready'; pod: string; pid: number }
  | {
      type: 'start';
      pod: string;
      scheduleId: string;
      tenantId?: string;
      fireTime: number;
      attempt: number;
      fencingToken: number;
    }
  | {
      type: 'rejected';
      pod: string;
      scheduleId: string;
      tenantId?: string;
      fireTime: number;
      fencingToken: number;
    };

const pod = process.env.POD_NAME ?? `pod-${process.pid}`;
const send = (event: ChaosEvent): void => {
  if (process.send) process.send(event);
};

/** Every 25th (schedule, fire time) fails its first attempt, deterministically. */
export function failsFirstAttempt(scheduleId: string, fireTime: number): boolean {
  return fnv1a(`${scheduleId}@${fireTime}`) % 25 === 0;
}

@Injectable()
class ChaosHandlers implements OnModuleInit {
  constructor(private readonly events: SchedulerEvents) {}

  onModuleInit(): void {
    this.events.on('run.rejected', (e) =>
      send({
        type: 'rejected',
        pod,
        scheduleId: e.scheduleId,
        tenantId: e.tenantId,
        fireTime: e.fireTime.getTime(),
        fencingToken: e.fencingToken,
      }),
    );
  }

  @ScheduleHandler('chaos')
  async work(_payload: unknown, ctx: ScheduleContext): Promise<void> {
    const fireTime = ctx.fireTime.getTime();
    send({
      type: 'start',
      pod,
      scheduleId: ctx.scheduleId,
      tenantId: ctx.tenantId,
      fireTime,
      attempt: ctx.attempt,
      fencingToken: ctx.fencingToken,
    });
    const steps = 2 + (fnv1a(`${ctx.scheduleId}:${fireTime}`) % 15);
    for (let i = 0; i < steps && !ctx.signal.aborted; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    if (ctx.attempt === 1 && failsFirstAttempt(ctx.scheduleId, fireTime))
      throw new Error('chaos: first attempt fails');
  }
}

@Module({
  imports: [
    RedisSchedulerModule.forRoot({
      redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      keyPrefix: process.env.KEY_PREFIX,
      leaseMs: 2_000,
      shutdownTimeoutMs: 500,
      runHistory: 300,
      tenantGuards: { maxSchedulesPerTenant: 0, minIntervalMs: 0, maxPayloadBytes: 0 },
    }),
  ],
  providers: [ChaosHandlers],
})
class ChaosPodModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(ChaosPodModule, {
    logger: process.env.TEST_LOGS ? undefined : false,
  });
  app.enableShutdownHooks();
  send({ type: 'ready', pod, pid: process.pid });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

void main();

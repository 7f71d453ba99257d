// A pod with the PostgreSQL store (issue 12): its own Node process running a Nest app with the
// module, `store: new PostgresScheduleStore(...)` and a recording handler. Reports every handler
// start and end to the parent over IPC, and runs the upserts the parent sends it.
import 'reflect-metadata';
import { ConsoleLogger, Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { performance } from 'node:perf_hooks';
import {
  RedisSchedulerModule,
  ScheduleContext,
  ScheduleHandler,
  SchedulerService,
  type ScheduleInput,
} from '../../lib';
import { PostgresScheduleStore } from '../../lib/integrations/postgres';
import type { PodEvent } from './pod.fixture';

/** Parent → pod: upsert these (each on its own, all at once); the pod answers 'upserted'. */
export interface UpsertCommand {
  type: 'upsert';
  inputs: ScheduleInput[];
}
export interface UpsertedEvent {
  type: 'upserted';
  pod: string;
  /** Per input: 'ok' or the error's name. */
  results: string[];
}

const pod = process.env.POD_NAME ?? `pod-${process.pid}`;
const realNow = (): number => performance.timeOrigin + performance.now();
const send = (event: PodEvent | UpsertedEvent): void => {
  if (process.send) process.send(event);
};

@Injectable()
class PodHandlers {
  @ScheduleHandler('record')
  record(_payload: unknown, ctx: ScheduleContext): void {
    const base = {
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
      aborted: ctx.signal.aborted,
    };
    send({ type: 'start', ...base, realMs: realNow() });
    send({ type: 'end', ...base, realMs: realNow() });
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
      worker: process.env.WORKER !== 'false',
      shutdownTimeoutMs: 1_000,
      tenantGuards: {
        maxSchedulesPerTenant: Number(process.env.MAX_PER_TENANT ?? 0),
        minIntervalMs: 0,
        maxPayloadBytes: 0,
      },
      store: new PostgresScheduleStore({
        connectionString: process.env.PG_URL,
        schema: process.env.PG_SCHEMA,
      }),
      reconcileIntervalMs: Number(process.env.RECONCILE_MS ?? 10_000),
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
  const scheduler = app.get(SchedulerService);
  process.on('message', (command: UpsertCommand) => {
    if (command.type !== 'upsert') return;
    void Promise.all(
      command.inputs.map((input) =>
        scheduler.upsert(input).then(
          () => 'ok',
          (error: Error) => error.name,
        ),
      ),
    ).then((results) => send({ type: 'upserted', pod, results }));
  });
  send({ type: 'ready', pod, pid: process.pid });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

void main();

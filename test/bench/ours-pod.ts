/**
 * A nestjs-redis-scheduler pod: a Nest application context importing
 * RedisSchedulerModule.forRoot({ redis, keyPrefix, tenantGuards: all off, ...--opt knobs }) and
 * one provider whose @ScheduleHandler('bench') method records every start.
 *
 * Fire time and jitter: ScheduleContext.fireTime is the nominal cron time and ctx.dueTime is
 * fireTime + the schedule's deterministic jitter offset, so the recorded lateness is
 * start − fireTime − (dueTime − fireTime) = start − dueTime.
 *
 * The module's log/debug/verbose output is dropped; its warnings and errors (lost leases,
 * rejected completions, Redis trouble) are reported to the runner as pod errors, so that an
 * anomaly shows up next to the table instead of vanishing.
 */
import 'reflect-metadata';
import { DynamicModule, Inject, Injectable, LoggerService, Module, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ScheduleContext } from '../../lib';
import { builtLibrary } from './ours-options';

import { PodContext, PodHandle, runPod } from './pod-protocol';
import { BENCH_HANDLER, oursModuleOptions, oursOptions, oursRedis } from './ours-options';

// The built library, as an application loads the package: see builtLibrary.
const { RedisSchedulerModule, ScheduleHandler } = builtLibrary();

const POD_CONTEXT = Symbol('POD_CONTEXT');

@Injectable()
class BenchHandlers {
  private readonly handlerMs: number;
  /** `--opt handlerResult=1`: each run returns a result as the 'http' handler does. */
  private readonly result: boolean;

  constructor(@Inject(POD_CONTEXT) private readonly pod: PodContext) {
    this.handlerMs = pod.handlerMs;
    this.result = oursOptions(pod.options).handlerResult;
  }

  @ScheduleHandler(BENCH_HANDLER)
  async run(_payload: unknown, ctx: ScheduleContext): Promise<unknown> {
    const fire = ctx.fireTime.getTime();
    this.pod.recordStart(ctx.scheduleId, fire, ctx.dueTime.getTime() - fire);
    if (this.handlerMs > 0) await new Promise((resolve) => setTimeout(resolve, this.handlerMs));
    return this.result ? { status: 200, durationMs: this.handlerMs } : undefined;
  }
}

/** Drops chatter, forwards warnings and errors to the runner. */
class QuietLogger implements LoggerService {
  constructor(private readonly pod: PodContext) {}
  log(): void {}
  debug(): void {}
  verbose(): void {}
  fatal(message: unknown, ...rest: unknown[]): void {
    this.pod.reportError(`fatal: ${String(message)} ${rest.map(String).join(' ')}`.trim());
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.pod.reportError(`error: ${String(message)} ${rest.map(String).join(' ')}`.trim());
  }
  warn(message: unknown): void {
    this.pod.reportError(`warn: ${String(message)}`);
  }
}

@Module({})
class BenchPodModule {}

/** `imports`: more modules for the pod (ours-obs-pod.ts adds the metrics and tracing modules). */
export async function createPod(
  ctx: PodContext,
  imports: Array<DynamicModule | Type<unknown>> = [],
): Promise<PodHandle> {
  const o = oursOptions(ctx.options);
  // Cluster mode: an ioredis Cluster on ctx.clusterNodes, which the module does not close.
  const connection = oursRedis(ctx);
  try {
    const app = await NestFactory.createApplicationContext(
      {
        module: BenchPodModule,
        imports: [
          RedisSchedulerModule.forRoot(oursModuleOptions(connection.redis, o, true)),
          ...imports,
        ],
        providers: [{ provide: POD_CONTEXT, useValue: ctx }, BenchHandlers],
      },
      { logger: new QuietLogger(ctx), abortOnError: false },
    );
    return {
      close: async () => {
        try {
          await app.close();
        } finally {
          await connection.close();
        }
      },
    };
  } catch (err) {
    await connection.close();
    throw err;
  }
}

if (require.main === module) runPod((ctx) => createPod(ctx));

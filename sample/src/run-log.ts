import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { RunInstrumentation, type InstrumentedRun } from 'nestjs-redis-scheduler';
import { SERVICE_CONFIG } from './service.constants';
import type { ServiceConfig } from './service.config';

/**
 * Logs, on the instance that made it, every call of an HTTP target: which schedule, fire time,
 * attempt and fencing token, and how it ended. With two instances, grep both logs for
 * ' ran ' to see each fire time run once (README "Service").
 */
@Injectable()
export class RunLog implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Runs');
  private stop: (() => void) | undefined;

  constructor(
    private readonly instrumentation: RunInstrumentation,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  onModuleInit(): void {
    this.stop = this.instrumentation.observe({
      started: () => undefined,
      ended: (run, error, failed) => {
        if (run.handler === 'http') this.log(run, failed ? error : undefined, failed);
      },
    });
  }

  onModuleDestroy(): void {
    this.stop?.();
  }

  private log(run: InstrumentedRun, error: unknown, failed: boolean): void {
    const { tenantId, scheduleId, fireTime, attempt, fencingToken } = run.context;
    // The 'http' handler's errors name the target by method, origin and path: no header values.
    const outcome = failed
      ? `failed: ${error instanceof Error ? error.message : String(error)}`
      : 'ok';
    this.logger.log(
      `pid ${process.pid} ran ${tenantId}/${scheduleId} (http from port ${this.config.port}, ${outcome}) ` +
        `fire ${fireTime.toISOString()} attempt ${attempt} fencing ${fencingToken}`,
    );
  }
}

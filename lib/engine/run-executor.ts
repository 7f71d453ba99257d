import { Logger } from '@nestjs/common';
import { RUN_FAILED } from '../redis-scheduler.messages';
import type { RegisteredHandler } from '../discovery/handler.registry';
import type { ScheduleContext } from '../interfaces/schedule-context.interface';

export interface RunOutcome {
  status: 'succeeded' | 'failed';
  error: string;
}

const MAX_ERROR_LENGTH = 500;

/** The one place that invokes handlers and catches what they throw. */
export class RunExecutor {
  private readonly logger = new Logger('RedisScheduler');

  async execute(
    handler: RegisteredHandler,
    payloadJson: string,
    ctx: ScheduleContext,
  ): Promise<RunOutcome> {
    try {
      const payload = payloadJson === '' ? undefined : (JSON.parse(payloadJson) as unknown);
      await handler.invoke(payload, ctx);
      return { status: 'succeeded', error: '' };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      this.logger.error(
        `${RUN_FAILED(ctx.scheduleId, ctx.fireTime, ctx.attempt)}: ${err.message}`,
        err.stack,
      );
      return { status: 'failed', error: err.message.slice(0, MAX_ERROR_LENGTH) };
    }
  }
}

import { Controller, Headers, HttpCode, Inject, Logger, Param, Post } from '@nestjs/common';
import { SERVICE_CONFIG } from './service.constants';
import type { ServiceConfig } from './service.config';

/**
 * The local echo target the demo tenant's schedules call (a webhook receiver stand-in): logs
 * one line per call, with the headers the 'http' handler sends, and answers 200.
 */
@Controller('echo')
export class EchoController {
  private readonly logger = new Logger('Echo');

  constructor(@Inject(SERVICE_CONFIG) private readonly config: ServiceConfig) {}

  @Post(':name')
  @HttpCode(200)
  echo(
    @Param('name') name: string,
    @Headers('x-scheduler-fire-time') fireTime: string | undefined,
    @Headers('x-scheduler-attempt') attempt: string | undefined,
    @Headers('idempotency-key') key: string | undefined,
  ): { received: true } {
    this.logger.log(
      `echo ${name} fire ${fireTime ?? '-'} attempt ${attempt ?? '-'} key ${key ?? '-'} ` +
        `on ${this.config.port}`,
    );
    return { received: true };
  }
}

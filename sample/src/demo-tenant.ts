import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerService, type ScheduleInput } from 'nestjs-redis-scheduler';
import 'nestjs-redis-scheduler/http';
import { SERVICE_CONFIG } from './service.constants';
import { DEMO_TENANT, type ServiceConfig } from './service.config';

/**
 * Gives the demo tenant its schedules at start, each calling the echo target. A schedule that
 * exists is left as it is (paused or changed over the API, it stays so), so every instance may
 * do it; two instances starting at once write the same definition, which changes nothing.
 */
@Injectable()
export class DemoTenant implements OnApplicationBootstrap {
  private readonly logger = new Logger(DemoTenant.name);

  constructor(
    private readonly scheduler: SchedulerService,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const input of this.schedules()) {
      const schedule =
        (await this.scheduler.get(DEMO_TENANT, input.id)) ?? (await this.scheduler.upsert(input));
      this.logger.log(
        `${DEMO_TENANT}/${schedule.id} (${schedule.cron || `every ${schedule.every} ms`}) ` +
          `next fires at ${schedule.nextFireAt?.toISOString() ?? 'never (paused)'}`,
      );
    }
  }

  private schedules(): ScheduleInput[] {
    const echo = this.config.echoUrl;
    return [
      {
        tenantId: DEMO_TENANT,
        id: 'ping',
        cron: '*/5 * * * * *',
        handler: 'http',
        payload: { url: `${echo}ping`, method: 'POST', body: { from: 'demo' } },
        retry: { attempts: 3, backoff: 'exponential', delayMs: 1_000 },
      },
      {
        tenantId: DEMO_TENANT,
        id: 'digest',
        every: 15_000,
        handler: 'http',
        payload: { url: `${echo}digest`, method: 'POST', body: { kind: 'digest' } },
        retry: { attempts: 3, backoff: 'fixed', delayMs: 2_000 },
      },
    ];
  }
}

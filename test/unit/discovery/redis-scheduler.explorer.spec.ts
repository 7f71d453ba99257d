import { Controller, Injectable, Logger, Provider, Scope } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import {
  DistributedCron,
  DistributedInterval,
  DuplicateScheduleError,
  InvalidCronError,
  InvalidTimingError,
  InvalidIdentifierError,
  RedisSchedulerModule,
  ScheduleContext,
  ScheduleHandler,
} from '../../../lib';
import { RedisSchedulerExplorer } from '../../../lib/discovery/redis-scheduler.explorer';
import { HandlerRegistry } from '../../../lib/discovery/handler.registry';

@Injectable()
class Jobs {
  calls: unknown[] = [];

  @DistributedCron('*/5 * * * * *')
  tick(ctx: ScheduleContext) {
    this.calls.push(ctx);
  }

  @DistributedCron('0 9 * * 1', {
    name: 'weekly',
    timeZone: 'Europe/Paris',
    jitterMs: 500,
    disabled: true,
    retry: { attempts: 3 },
    overlap: 'allow',
  })
  weekly() {}

  @ScheduleHandler('report.generate')
  generate(payload: unknown, ctx: ScheduleContext) {
    this.calls.push([payload, ctx]);
  }

  undecorated() {}
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedJobs {
  @DistributedCron('* * * * *')
  perRequest() {}
}

class FactoryMade {
  @ScheduleHandler('factory.handler')
  handle() {}
}

@Controller()
class JobsController {
  @ScheduleHandler('controller.handler')
  handle() {}
}

@Injectable()
class Clash {
  @ScheduleHandler('report.generate')
  again() {}
}

@Injectable()
class BadCron {
  @DistributedCron('not a cron at all')
  broken() {}
}

@Injectable()
class BadPolicy {
  @DistributedCron('* * * * *', { misfire: 'sometimes' as never })
  broken() {}
}

@Injectable()
class BadName {
  @DistributedCron('* * * * *', { name: 'has space' })
  broken() {}
}

@Injectable()
class Intervals {
  @DistributedInterval('90s', { name: 'beat', jitterMs: 100 })
  beat() {}

  @DistributedInterval(5_000)
  poll() {}
}

@Injectable()
class BadInterval {
  @DistributedInterval('every 5 minutes')
  broken() {}
}

async function explore(
  ...providers: Provider[]
): Promise<{ module: TestingModule; registry: HandlerRegistry }> {
  const module = await Test.createTestingModule({
    imports: [RedisSchedulerModule.forRoot({ redis: { lazyConnect: true, port: 1 } })],
    providers,
    controllers: [JobsController],
  }).compile();
  try {
    module.get(RedisSchedulerExplorer).onModuleInit();
  } catch (error) {
    await module.close();
    throw error;
  }
  return { module, registry: module.get(HandlerRegistry) };
}

describe('RedisSchedulerExplorer', () => {
  let warn: jest.SpyInstance;
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => warn.mockRestore());

  it('finds statics and handlers on providers, factory providers and controllers', async () => {
    const { module, registry } = await explore(Jobs, RequestScopedJobs, {
      provide: 'FACTORY',
      useFactory: () => new FactoryMade(),
    });
    expect(registry.statics()).toEqual([
      {
        name: 'Jobs.tick',
        cron: '*/5 * * * * *',
        timeZone: 'UTC',
        jitterMs: 0,
        enabled: true,
        policyJson: '',
      },
      {
        name: 'weekly',
        cron: '0 9 * * 1',
        timeZone: 'Europe/Paris',
        jitterMs: 500,
        enabled: false,
        policyJson: '{"retry":{"attempts":3},"overlap":"allow"}',
      },
    ]);
    expect(registry.dynamicNames().sort()).toEqual([
      'controller.handler',
      'factory.handler',
      'report.generate',
    ]);
    await module.close();
  });

  it('binds handlers to the provider instance', async () => {
    const { module, registry } = await explore(Jobs);
    const jobs = module.get(Jobs);
    const ctx = { scheduleId: 'x' } as ScheduleContext;
    await registry.get('c:Jobs.tick')!.invoke(undefined, ctx);
    await registry.get('h:report.generate')!.invoke({ a: 1 }, ctx);
    expect(jobs.calls).toEqual([ctx, [{ a: 1 }, ctx]]);
    await module.close();
  });

  it('warns about request-scoped providers, naming Class@method, and skips them', async () => {
    const { module, registry } = await explore(RequestScopedJobs);
    expect(registry.statics()).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('RequestScopedJobs@perRequest'));
    await module.close();
  });

  it('fails the boot on a duplicate name, naming both methods', async () => {
    await expect(explore(Jobs, Clash)).rejects.toThrow(DuplicateScheduleError);
    await expect(explore(Jobs, Clash)).rejects.toThrow(/Jobs\.generate.*Clash\.again/);
  });

  it('fails the boot on an invalid decorator', async () => {
    await expect(explore(BadCron)).rejects.toThrow(InvalidCronError);
    await expect(explore(BadName)).rejects.toThrow(InvalidIdentifierError);
    await expect(explore(BadPolicy)).rejects.toThrow(/misfire.*'runOnce', 'skip', 'runAll'/);
  });

  it('finds @DistributedInterval statics with their period, and fails the boot on one it cannot read', async () => {
    const { module, registry } = await explore(Intervals);
    expect(registry.statics()).toEqual([
      {
        name: 'beat',
        cron: '@every 90s',
        everyMs: 90_000,
        writtenEvery: '90s',
        timeZone: 'UTC',
        jitterMs: 100,
        enabled: true,
        policyJson: '',
      },
      {
        name: 'Intervals.poll',
        cron: '@every 5000',
        everyMs: 5_000,
        writtenEvery: '',
        timeZone: 'UTC',
        jitterMs: 0,
        enabled: true,
        policyJson: '',
      },
    ]);
    await module.close();
    await expect(explore(BadInterval)).rejects.toThrow(InvalidTimingError);
  });
});
